package docker

import (
	"context"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Start implements runtime.Runtime.
func (r *Runtime) Start(ctx context.Context, id string) error {
	return wrapErr("start", id, r.cli.ContainerStart(ctx, id, container.StartOptions{}))
}

// Stop implements runtime.Runtime. Docker counts the timeout in whole seconds, so it
// is rounded up; the container's own stop signal (SIGTERM unless its image says
// otherwise) goes first.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := seconds(timeout)
	return wrapErr("stop", id, r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}))
}

// Remove implements runtime.Runtime; anonymous volumes go with the container.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	opts := container.RemoveOptions{Force: true, RemoveVolumes: true}
	return wrapErr("remove", id, r.cli.ContainerRemove(ctx, id, opts))
}
