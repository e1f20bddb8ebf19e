package docker

import (
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/berth/berth/agent/runtime"
)

// wrapErr gives a Docker error about container id its context, and runtime.ErrNotFound
// when the daemon does not know the container.
func wrapErr(op, id string, err error) error {
	if err == nil {
		return nil
	}
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("docker %s: %w: %w", op, runtime.NotFound(id), err)
	}
	return fmt.Errorf("docker %s container %q: %w", op, id, err)
}
