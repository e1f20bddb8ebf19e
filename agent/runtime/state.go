package runtime

import "time"

// Status is where a container is in its lifecycle.
type Status string

// Container statuses.
const (
	StatusCreated Status = "created"
	StatusRunning Status = "running"
	StatusExited  Status = "exited"
)

// HealthStatus is a container's health as its health check last found it.
type HealthStatus string

// Health statuses. HealthNone is a container without a health check.
const (
	HealthNone      HealthStatus = "none"
	HealthStarting  HealthStatus = "starting"
	HealthHealthy   HealthStatus = "healthy"
	HealthUnhealthy HealthStatus = "unhealthy"
)

// ContainerState is what Inspect reports of a container.
type ContainerState struct {
	ID    string
	Name  string
	Image string
	// ImageDigest identifies the image the container runs: the registry's manifest
	// digest ("sha256:...") when the image came from a registry, else the runtime's
	// own id of the image. "" when the runtime cannot tell.
	ImageDigest string
	Status      Status
	// ExitCode and OOMKilled are meaningful once Status is StatusExited.
	ExitCode  int
	OOMKilled bool
	// Error is the runtime's message when the container could not run, if any.
	Error  string
	Health HealthStatus
	// NetworkBindings are the host ports really bound, dynamic ones included; empty
	// unless the container is running.
	NetworkBindings []NetworkBinding
	StartedAt       time.Time
	FinishedAt      time.Time
	Labels          map[string]string
	// Pid is the container's main process on the host while it runs (0 when it
	// does not, or when the runtime runs no processes): where its namespaces are
	// found (/proc/PID/ns/net).
	Pid int
	// IPv4Addresses are the container's addresses on its networks while it runs
	// (none for a container that joins another's network, or the host's).
	IPv4Addresses []string
}

// NetworkBinding is a bound host port, as ECS reports it in networkBindings.
type NetworkBinding struct {
	BindIP        string
	ContainerPort int
	HostPort      int
	Protocol      string
}

// ContainerSummary is one container as List reports it.
type ContainerSummary struct {
	ID     string
	Name   string
	Image  string
	Status Status
	Labels map[string]string
}
