package runtime

import (
	"context"
	"io"
	"time"
)

// Runtime runs containers on one container instance. Implementations are safe for
// concurrent use. Every method that names a container takes the id Create returned;
// an unknown id gives an error that wraps ErrNotFound.
type Runtime interface {
	// Pull makes image available locally according to policy. An image that cannot be
	// had gives an error wrapping ErrCannotPull whose text is ECS's stoppedReason.
	Pull(ctx context.Context, image string, policy PullPolicy) error

	// Create creates a stopped container from spec and returns its id. The image must
	// already be present (see Pull).
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)

	// Start starts a created container. Dynamic host ports are bound here; read them
	// back with Inspect.
	Start(ctx context.Context, id string) error

	// Stop sends SIGTERM and, if the container has not exited after timeout, SIGKILL.
	// It returns once the container has exited. Stopping an exited container is not an
	// error.
	Stop(ctx context.Context, id string, timeout time.Duration) error

	// Remove deletes a container, killing it first if it still runs.
	Remove(ctx context.Context, id string) error

	// Inspect reports a container's current state.
	Inspect(ctx context.Context, id string) (ContainerState, error)

	// List returns the containers that carry every label in labels (a value of ""
	// matches any value), in any status.
	List(ctx context.Context, labels map[string]string) ([]ContainerSummary, error)

	// Events streams lifecycle events of the containers that carry every label in
	// labels, from now on. The stream runs in a goroutine owned by the runtime until ctx
	// ends or the stream breaks; then the error channel receives the reason (ctx.Err()
	// when ctx ended) and both channels are closed. The caller must drain the event
	// channel or cancel ctx; an unread stream holds its goroutine.
	Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error)

	// Logs writes a container's output, stdout to stdout and stderr to stderr, on the
	// caller's goroutine. It returns once the output so far is written or, with
	// opts.Follow, once the container has exited and all of its output is written;
	// ctx.Err() when ctx ends first, and a writer's error as soon as one fails.
	Logs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error
}
