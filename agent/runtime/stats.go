package runtime

import "context"

// Statser is a runtime that reports a container's resource usage: an optional
// capability, found by type assertion.
type Statser interface {
	// Stats returns one sample of the container's usage in Docker's stats
	// shape (the Engine API's ContainerStats response, as JSON).
	Stats(ctx context.Context, id string) ([]byte, error)
}

// NetworkNamespacer is a runtime whose containers have network namespaces of
// their own on this host, found at /proc/PID/ns/net of ContainerState.Pid: an
// optional capability, found by type assertion.
type NetworkNamespacer interface {
	NetworkNamespaces() bool
}

// SyntheticLoader is a simulated runtime that reports a configured load
// instead of measured usage: each running task uses these percentages of
// the CPU and memory it reserves. An optional capability, found by type
// assertion.
type SyntheticLoader interface {
	SyntheticLoad() (cpuPercent, memoryPercent float64)
}
