package scheduler

import "time"

// Container instance statuses, as ECS names them. Only ACTIVE instances take new tasks.
const (
	StatusActive        = "ACTIVE"
	StatusDraining      = "DRAINING"
	StatusInactive      = "INACTIVE"
	StatusRegistering   = "REGISTERING"
	StatusDeregistering = "DEREGISTERING"
)

// Built-in attribute names that agents register on every container instance.
const (
	AttributeAvailabilityZone = "ecs.availability-zone"
	AttributeInstanceType     = "ecs.instance-type"
	AttributeOSType           = "ecs.os-type"
	AttributeCPUArchitecture  = "ecs.cpu-architecture"
)

// Resources is an amount of each resource the scheduler accounts for: CPU in CPU units
// (1 vCPU = 1024), Memory in MiB, GPU in whole GPUs.
type Resources struct {
	CPU    int64
	Memory int64
	GPU    int64
}

// Covers reports whether r holds at least need of every resource.
func (r Resources) Covers(need Resources) bool {
	return r.CPU >= need.CPU && r.Memory >= need.Memory && r.GPU >= need.GPU
}

// Add returns r + o, resource by resource.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPU: r.CPU + o.CPU, Memory: r.Memory + o.Memory, GPU: r.GPU + o.GPU}
}

// Sub returns r - o, resource by resource.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPU: r.CPU - o.CPU, Memory: r.Memory - o.Memory, GPU: r.GPU - o.GPU}
}

// Protocol is a host port's transport protocol, "tcp" or "udp" as ECS writes them.
type Protocol string

// The protocols of ECS port mappings.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// Port is a static host port. Dynamic host ports (hostPort 0 in bridge mode) are chosen by
// Docker from the ephemeral range and never conflict, so they are not Ports here.
type Port struct {
	HostPort uint16
	Protocol Protocol
}

// Instance is what the scheduler knows of one container instance. Snapshot copies it, and
// placing tasks changes the copy (Remaining, UsedPorts, RunningTasksCount, TasksByGroup),
// never the caller's value.
type Instance struct {
	// ARN identifies the instance in placements and failures.
	ARN            string
	EC2InstanceID  string
	Status         string // ACTIVE, DRAINING, ... (see the Status constants)
	AgentConnected bool
	AgentVersion   string
	RegisteredAt   time.Time

	// Registered is the instance's capacity; Remaining is Registered minus what its tasks
	// hold.
	Registered Resources
	Remaining  Resources
	// UsedPorts are the static host ports taken, tcp and udp, including the agent's
	// reserved ports (22, 2375, 2376, 51678, 51679 by default).
	UsedPorts []Port

	// Attributes are the built-in attributes (ecs.availability-zone, ...) and custom
	// ones from PutAttributes. An attribute without a value maps to "".
	Attributes        map[string]string
	RunningTasksCount int
	// TasksByGroup counts the instance's tasks per task group ("service:web",
	// "family:batch"), for spread, distinctInstance and task:group.
	TasksByGroup map[string]int

	// owned says the snapshot has its own UsedPorts and TasksByGroup (they
	// are copied on the first task placed, not when the snapshot is made).
	owned bool
}

// usesPort reports whether p is taken on the instance.
func (in *Instance) usesPort(p Port) bool {
	for _, u := range in.UsedPorts {
		if u == p {
			return true
		}
	}
	return false
}

// own gives in copies of the caller's UsedPorts and TasksByGroup before the
// snapshot changes them: most instances of a large snapshot take no task, so
// most are never copied.
func (in *Instance) own() {
	if in.owned {
		return
	}
	in.UsedPorts = append([]Port(nil), in.UsedPorts...)
	groups := make(map[string]int, len(in.TasksByGroup)+1)
	for g, n := range in.TasksByGroup {
		groups[g] = n
	}
	in.TasksByGroup, in.owned = groups, true
}
