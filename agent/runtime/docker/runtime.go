// Package docker implements runtime.Runtime over the Docker Engine API. It translates
// a runtime.ContainerSpec into Docker's container config and Docker's state and events
// back into the runtime's words, and maps Docker's errors to the runtime's sentinel
// errors. It holds no state of its own, so an agent that restarts loses nothing: the daemon and the berth labels are the record.
// It also makes berth's own pause image, which no registry serves (EnsurePauseImage).
//
// It must not decide anything about tasks; see package runtime.
package docker

import (
	"context"
	"fmt"
	"sync"

	"github.com/docker/docker/client"

	"github.com/berth/berth/agent/runtime"
)

// Options configure a Runtime.
type Options struct {
	// Offline makes Pull never contact a registry: an image is there if it is present
	// locally, under every policy, and a missing one fails at once with
	// runtime.ErrCannotPull. For hosts (and CI) without a reachable registry.
	Offline bool

	// PauseImage is the reference under which berth's own pause image (package pause)
	// lives; "" is pause.Image. Pull makes this image from the program berth ships,
	// never from a registry (see EnsurePauseImage); any other pause image an agent is
	// configured with is pulled as any image is.
	PauseImage string
	// PauseImageLabels are further labels on that image (tests mark theirs).
	PauseImageLabels map[string]string
}

// Runtime runs containers on the local Docker daemon.
type Runtime struct {
	cli  *client.Client
	opts Options

	pauseMu sync.Mutex // one EnsurePauseImage at a time
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the daemon named by the DOCKER_* environment; see NewWithClient.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	r, err := NewWithClient(ctx, cli, opts)
	if err != nil {
		cli.Close()
	}
	return r, err
}

// NewWithClient returns a Runtime over cli, which it then owns (Close closes it). It
// pings the daemon, so an unreachable one is an error here rather than later, and
// settles the API version now: the SDK may be newer than the daemon, and negotiating
// lazily races with the SDK's event stream.
func NewWithClient(ctx context.Context, cli *client.Client, opts Options) (*Runtime, error) {
	ping, err := cli.Ping(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker ping %s: %w", cli.DaemonHost(), err)
	}
	cli.NegotiateAPIVersionPing(ping)
	return &Runtime{cli: cli, opts: opts}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }
