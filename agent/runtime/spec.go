package runtime

import "time"

// ContainerSpec is what Create needs to make one container: a container definition
// with the task's decisions (names, network mode, links) already taken.
type ContainerSpec struct {
	// Name is the runtime's name for the container; "" lets the runtime choose. Links
	// refer to containers by it.
	Name  string
	Image string
	Owner Owner
	// DockerLabels are the container definition's dockerLabels.
	DockerLabels map[string]string

	EntryPoint       []string
	Command          []string
	Environment      map[string]string
	WorkingDirectory string
	User             string

	// CPU is in CPU units (1024 per vCPU), given to the container as CPU shares; 0
	// leaves the runtime's default.
	CPU int64
	// Memory is the hard limit in MiB: past it the container is OOM-killed. 0 is none.
	// The container gets no swap.
	Memory int64
	// MemoryReservation is the soft limit in MiB. 0 is none.
	MemoryReservation int64
	Ulimits           []Ulimit

	// NetworkMode is NetworkBridge, NetworkHost, NetworkNone, JoinNetwork(id) or the
	// name of a user-defined network. "" is NetworkBridge.
	NetworkMode  string
	PortMappings []PortMapping
	// Links are "name:alias" pairs naming other containers, for bridge mode.
	Links []string
	// Mounts are host paths mounted into the container: ECS's mountPoints and
	// volumesFrom, resolved by the task engine to where each volume lives on the host.
	Mounts []Mount

	HealthCheck *HealthCheck
	// StopTimeout (ECS's stopTimeout) is recorded with the container as its own grace
	// period, which an operator's `docker stop` honours. Stop takes its timeout from
	// the caller. 0 is the runtime's default.
	StopTimeout time.Duration
	// InitProcessEnabled runs an init process as PID 1 that forwards signals and reaps
	// zombies (ECS's linuxParameters.initProcessEnabled).
	InitProcessEnabled bool
}

// Network modes for ContainerSpec.NetworkMode.
const (
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// JoinNetwork returns the network mode that puts a container in the network namespace
// of container id, as awsvpc tasks join their pause container's.
func JoinNetwork(id string) string { return "container:" + id }

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort int
	// HostPort is the host port; 0 asks for a dynamic port from the ephemeral range.
	HostPort int
	// Protocol is "tcp" or "udp"; "" is "tcp".
	Protocol string
}

// Mount binds a host path into a container. Paths are absolute and may not contain
// ':'. The docker runtime creates a Source that does not exist, as ECS does for host
// volumes.
type Mount struct {
	// Source is the absolute host path.
	Source string
	// Target is the absolute path in the container.
	Target   string
	ReadOnly bool
}

// Ulimit is a resource limit, as in ECS's ulimits (name like "nofile").
type Ulimit struct {
	Name      string
	SoftLimit int64
	HardLimit int64
}

// HealthCheck is ECS's (and Docker's) container health check.
type HealthCheck struct {
	// Command is ["CMD", arg...] or ["CMD-SHELL", "command line"].
	Command []string
	// Interval, Timeout and StartPeriod of 0 and Retries of 0 take the runtime's
	// defaults; the engine fills in ECS's.
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}
