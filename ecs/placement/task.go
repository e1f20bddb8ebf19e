package placement

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Limits are a task's effective sizes: its task definition's with the
// task's overrides applied (task-level cpu and memory; each container's cpu,
// memory and memoryReservation). They are worked out once, at placement,
// stored with the task and sent to its agent, which sizes the containers by
// them; the reservation is derived from them.
func Limits(td *berthv1.TaskDefinition, o *berthv1.TaskOverride) *berthv1.TaskLimits {
	l := &berthv1.TaskLimits{Cpu: firstSize(o.GetCpu(), td.GetCpu()), Memory: firstSize(o.GetMemory(), td.GetMemory())}
	for _, c := range td.GetContainerDefinitions() {
		cl := &berthv1.ContainerLimits{Name: c.GetName(), Cpu: c.GetCpu(), Memory: c.GetMemory(), MemoryReservation: c.GetMemoryReservation()}
		if co := ContainerOverride(o, c.GetName()); co != nil {
			if co.Cpu != nil {
				cl.Cpu = co.GetCpu()
			}
			if co.Memory != nil {
				cl.Memory = co.GetMemory()
			}
			if co.MemoryReservation != nil {
				cl.MemoryReservation = co.GetMemoryReservation()
			}
		}
		l.Containers = append(l.Containers, cl)
	}
	return l
}

// firstSize is the first of the normalized sizes ("1024") that is set.
func firstSize(sizes ...string) int32 {
	for _, s := range sizes {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return int32(n)
		}
	}
	return 0
}

// Reservation is what one task holds on its instance, by ECS's rules, from
// its limits: task-level cpu and memory when set, else the sum over
// containers (memory: memoryReservation if set, else memory); GPUs from
// resourceRequirements; static host ports in bridge and host mode (awsvpc
// tasks have ports of their own).
func Reservation(td *berthv1.TaskDefinition, l *berthv1.TaskLimits) *berthv1.Resources {
	r := &berthv1.Resources{}
	for _, c := range l.GetContainers() {
		r.Cpu += c.GetCpu()
		if c.GetMemoryReservation() > 0 {
			r.Memory += c.GetMemoryReservation()
		} else {
			r.Memory += c.GetMemory()
		}
	}
	if l.GetCpu() > 0 {
		r.Cpu = l.GetCpu()
	}
	if l.GetMemory() > 0 {
		r.Memory = l.GetMemory()
	}
	for _, c := range td.GetContainerDefinitions() {
		for _, rr := range c.ResourceRequirements {
			if n, err := strconv.Atoi(rr.GetValue()); err == nil && rr.GetType() == "GPU" {
				r.Gpu += int32(n)
			}
		}
		if td.NetworkMode == "bridge" || td.NetworkMode == "host" {
			for _, pm := range c.PortMappings {
				if pm.GetHostPort() > 0 {
					if pm.GetProtocol() == "udp" {
						r.PortsUdp = append(r.PortsUdp, pm.GetHostPort())
					} else {
						r.PortsTcp = append(r.PortsTcp, pm.GetHostPort())
					}
				}
			}
		}
	}
	return r
}

// ContainerOverride is the override of the named container, or nil.
func ContainerOverride(o *berthv1.TaskOverride, name string) *berthv1.ContainerOverride {
	for _, co := range o.GetContainerOverrides() {
		if co.GetName() == name {
			return co
		}
	}
	return nil
}

// Request is the plan as the scheduler's request for count tasks.
func (p *Plan) Request(count int, strategies []scheduler.Strategy, constraints []scheduler.Constraint) scheduler.Request {
	req := scheduler.Request{
		Group:       p.Group,
		Count:       count,
		Resources:   Resources(p.Need),
		Strategies:  strategies,
		Constraints: constraints,
		Seed:        randomSeed(),
	}
	for _, port := range p.Need.PortsTcp {
		req.Ports = append(req.Ports, scheduler.Port{HostPort: uint16(port), Protocol: scheduler.TCP})
	}
	for _, port := range p.Need.PortsUdp {
		req.Ports = append(req.Ports, scheduler.Port{HostPort: uint16(port), Protocol: scheduler.UDP})
	}
	return req
}

// NewTask is the record of one task of the plan on an instance, PENDING.
func (p *Placer) NewTask(plan *Plan, instanceID, az string) *berthv1.TaskRecord {
	id := NewTaskID(p.now())
	td := plan.TaskDef.TaskDefinition
	if plan.Limits == nil {
		plan.Limits = Limits(td, plan.Overrides)
	}
	task := &berthv1.Task{
		TaskArn:              p.ARNs.Task(plan.Cluster, id),
		ClusterArn:           p.ARNs.Cluster(plan.Cluster),
		TaskDefinitionArn:    p.ARNs.TaskDefinition(td.Family, td.Revision),
		ContainerInstanceArn: p.ARNs.ContainerInstance(plan.Cluster, instanceID),
		Overrides:            plan.Overrides,
		LastStatus:           store.TaskPending,
		DesiredStatus:        store.TaskRunning,
		Cpu:                  strconv.Itoa(int(plan.Need.Cpu)),
		Memory:               strconv.Itoa(int(plan.Need.Memory)),
		Group:                plan.Group,
		StartedBy:            plan.StartedBy,
		LaunchType:           "EC2",
		CapacityProviderName: plan.CapacityProvider,
		AvailabilityZone:     az,
		HealthStatus:         "UNKNOWN",
		Version:              1,
		Tags:                 plan.Tags,
		EnableExecuteCommand: proto.Bool(plan.EnableExecuteCommand),
	}
	for i, c := range td.ContainerDefinitions {
		cl := plan.Limits.GetContainers()[i] // numbers until rendered here, as ECS's strings
		ct := &berthv1.Container{
			ContainerArn: p.ARNs.Container(plan.Cluster, id, NewID()),
			TaskArn:      task.TaskArn,
			Name:         c.Name,
			Image:        c.Image,
			LastStatus:   store.TaskPending,
			HealthStatus: "UNKNOWN",
			Cpu:          strconv.Itoa(int(cl.GetCpu())),
		}
		if cl.GetMemory() > 0 {
			ct.Memory = strconv.Itoa(int(cl.GetMemory()))
		}
		if cl.GetMemoryReservation() > 0 {
			ct.MemoryReservation = strconv.Itoa(int(cl.GetMemoryReservation()))
		}
		task.Containers = append(task.Containers, ct)
	}
	return &berthv1.TaskRecord{Cluster: plan.Cluster, Id: id, InstanceId: instanceID, Task: task,
		Reservation: proto.Clone(plan.Need).(*berthv1.Resources), Family: td.Family, Revision: td.Revision,
		Limits: plan.Limits}
}
