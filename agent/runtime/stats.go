package runtime

import "context"

// Statser is a runtime that reports a container's resource usage: an optional
// capability, found by type assertion.
type Statser interface {
	// Stats returns one sample of the container's usage in Docker's stats
	// shape (the Engine API's ContainerStats response, as JSON).
	Stats(ctx context.Context, id string) ([]byte, error)
}
