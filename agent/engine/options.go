package engine

import (
	"context"
	"errors"
	"log/slog"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// DefaultStopTimeout is how long a container has between SIGTERM and SIGKILL when its
// definition sets no stopTimeout: the ECS agent's default (ECS_CONTAINER_STOP_TIMEOUT).
const DefaultStopTimeout = 30 * time.Second

// Options configure an Engine.
type Options struct {
	// ContainerInstanceARN is this instance's ARN. It labels every container the engine
	// creates, and it is how a restarted engine finds the containers it owns. Required.
	ContainerInstanceARN string

	// Report receives each task state change, in order, on Run's goroutine. It must
	// not block for long (hand the change to the session's batcher) and must not modify
	// the change, which the engine keeps to compare with the next. Required.
	Report func(*berthv1.TaskStateChange)

	// PullPolicy is the agent's image pull behavior; "" is runtime.PullDefault.
	PullPolicy runtime.PullPolicy

	// PauseImage and PauseCommand make the pause container that holds an awsvpc task's
	// network namespace. The command must run until it is signalled. Without a
	// PauseImage, awsvpc tasks fail to start.
	PauseImage   string
	PauseCommand []string

	// StopTimeout is the time between SIGTERM and SIGKILL for containers whose
	// definition sets no stopTimeout; 0 is DefaultStopTimeout.
	StopTimeout time.Duration

	// RemoveDelay is how long a stopped task's exited containers are kept (for their
	// logs) before they are removed; the ECS agent keeps them for
	// ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION. 0 removes them at once.
	RemoveDelay time.Duration

	// VolumesDir is where task-scoped volumes live: a directory per task and volume
	// under it, made when the first container that mounts the volume is created and
	// removed once the task's containers are removed. The agent sets it to
	// <data-dir>/volumes. Without it, a task that declares a task-scoped volume fails
	// to start.
	VolumesDir string

	// TaskEndpoint serves the task metadata and credentials endpoints to the
	// tasks' containers (agent/taskendpoint); nil serves none.
	TaskEndpoint TaskEndpoint

	// Now is the clock that dates state changes; nil is time.Now.
	Now func() time.Time

	// Logger logs what the reports do not say (containers that cannot be removed,
	// assignments that cannot be used, orphans stopped); nil is slog.Default().
	Logger *slog.Logger
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.ContainerInstanceARN == "" {
		return o, errors.New("engine: Options.ContainerInstanceARN is required")
	}
	if o.Report == nil {
		return o, errors.New("engine: Options.Report is required")
	}
	if o.PullPolicy == "" {
		o.PullPolicy = runtime.PullDefault
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// TaskEndpoint is what the engine tells the server of the endpoints a task's
// containers reach from inside (agent/taskendpoint).
type TaskEndpoint interface {
	// Environment is the variables that point container at the endpoints
	// (metadata URIs, credentials). It is called on Run's goroutine when the
	// container's spec is made, so it must not block.
	Environment(a *berthv1.TaskAssignment, container string) map[string]string
	// ContainerStarted is called in a worker goroutine once a container (the
	// pause container included, under its own name) runs, before the task's
	// machine learns of it: for awsvpc, the endpoint is ready before any of
	// the task's containers starts. It is called too for each running
	// container a restarted engine re-adopts. An error is logged; the
	// container runs on.
	ContainerStarted(ctx context.Context, taskARN, container string, s runtime.ContainerState) error
	// TaskChanged is called on Run's goroutine with each state change
	// reported, and must not block.
	TaskChanged(a *berthv1.TaskAssignment, sc *berthv1.TaskStateChange)
	// TaskGone is called when the engine forgets a task.
	TaskGone(taskARN string)
}
