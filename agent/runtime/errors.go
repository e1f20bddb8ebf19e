package runtime

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is wrapped by errors about a container that does not exist.
	ErrNotFound = errors.New("container not found")

	// ErrCannotPull is wrapped by Pull's errors about an image that cannot be had. Its
	// text is ECS's reason prefix, so err.Error() reads as ECS's stoppedReason:
	// "CannotPullContainerError: image "x": ...".
	ErrCannotPull = errors.New("CannotPullContainerError")
)

// CannotPull returns the error Pull gives when image cannot be had because of cause.
func CannotPull(image string, cause error) error {
	return fmt.Errorf("%w: image %q: %w", ErrCannotPull, image, cause)
}

// NotFound returns the error for container id, unknown to the runtime.
func NotFound(id string) error {
	return fmt.Errorf("container %q: %w", id, ErrNotFound)
}
