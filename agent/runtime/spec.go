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

	// MaxSwap is the swap the container may use on top of Memory, in MiB; nil is no
	// swap when Memory is set (the runtime's default otherwise). Swappiness (0-100)
	// is nil for the runtime's default.
	MaxSwap    *int64
	Swappiness *int64
	// GPUs is how many GPUs the container gets (ECS's resourceRequirements GPU).
	GPUs int

	// Hostname is the container's hostname; "" lets the runtime choose.
	Hostname         string
	DNSServers       []string
	DNSSearchDomains []string
	// ExtraHosts are added to the container's /etc/hosts.
	ExtraHosts []HostEntry
	// NetworkDisabled gives the container no network at all (ECS's disableNetworking).
	NetworkDisabled bool

	Privileged             bool
	ReadonlyRootFilesystem bool
	// CapAdd and CapDrop are Linux capabilities as ECS names them ("NET_ADMIN", "ALL").
	CapAdd  []string
	CapDrop []string
	// SecurityOptions are Docker's security options ("no-new-privileges",
	// "seccomp=unconfined", "label:...", "apparmor:...").
	SecurityOptions []string
	Devices         []Device
	// Sysctls are namespaced kernel parameters (ECS's systemControls).
	Sysctls map[string]string

	// PidMode and IpcMode are "" (the container's own namespace), "host", or a
	// container's namespace to join (JoinNamespace); IpcMode may also be "none" (no
	// /dev/shm) or "shareable" (others may join it).
	PidMode string
	IpcMode string
	// SharedMemorySize is the size of /dev/shm in MiB; 0 is the runtime's default.
	SharedMemorySize int64
	Tmpfs            []Tmpfs

	// Interactive keeps stdin open; PseudoTerminal allocates a TTY.
	Interactive    bool
	PseudoTerminal bool

	// Log is where the container's output goes; nil is the runtime's default.
	Log *LogConfig
}

// HostEntry is one /etc/hosts line.
type HostEntry struct {
	Hostname  string
	IPAddress string
}

// Device exposes a host device in the container.
type Device struct {
	HostPath      string
	ContainerPath string // "" is HostPath
	// Permissions are any of "read", "write" and "mknod", as ECS names them; none
	// is all three.
	Permissions []string
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	ContainerPath string
	// Size is in MiB.
	Size         int64
	MountOptions []string
}

// LogConfig names a log driver and its options.
type LogConfig struct {
	Driver  string
	Options map[string]string
}

// Namespace sharing for ContainerSpec.PidMode and IpcMode.
const (
	NamespaceHost      = "host"
	NamespaceNone      = "none"
	NamespaceShareable = "shareable"
)

// JoinNamespace returns the PidMode or IpcMode that puts a container in the
// namespace of container id.
func JoinNamespace(id string) string { return "container:" + id }

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
	// HostIP is the host address the port is published on ("127.0.0.1" for
	// loopback only); "" is every address.
	HostIP string
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
