package placement

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Reservation is what one task holds on its instance, by ECS's rules:
// task-level cpu and memory when set, else the sum over containers (memory:
// memoryReservation if set, else memory), with container overrides applied;
// GPUs from resourceRequirements; static host ports in bridge and host mode
// (awsvpc tasks have ports of their own).
func Reservation(td *berthv1.TaskDefinition, o *berthv1.TaskOverride) *berthv1.Resources {
	r := &berthv1.Resources{}
	for _, c := range td.ContainerDefinitions {
		cpu, mem, res := c.GetCpu(), c.GetMemory(), c.GetMemoryReservation()
		if co := ContainerOverride(o, c.Name); co != nil {
			if co.Cpu != nil {
				cpu = co.GetCpu()
			}
			if co.Memory != nil {
				mem = co.GetMemory()
			}
			if co.MemoryReservation != nil {
				res = co.GetMemoryReservation()
			}
		}
		r.Cpu += cpu
		if res > 0 {
			r.Memory += res
		} else {
			r.Memory += mem
		}
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
	// The task's size, overridden or its definition's, is what it holds.
	for _, cpu := range []string{o.GetCpu(), td.Cpu} {
		if n, err := strconv.Atoi(cpu); err == nil && n > 0 {
			r.Cpu = int32(n)
			break
		}
	}
	for _, mem := range []string{o.GetMemory(), td.Memory} {
		if n, err := strconv.Atoi(mem); err == nil && n > 0 {
			r.Memory = int32(n)
			break
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
	}
	for _, c := range td.ContainerDefinitions {
		ct := &berthv1.Container{
			ContainerArn: p.ARNs.Container(plan.Cluster, id, NewID()),
			TaskArn:      task.TaskArn,
			Name:         c.Name,
			Image:        c.Image,
			LastStatus:   store.TaskPending,
			HealthStatus: "UNKNOWN",
			Cpu:          strconv.Itoa(int(c.GetCpu())),
		}
		if c.Memory != nil {
			ct.Memory = strconv.Itoa(int(c.GetMemory()))
		}
		if c.MemoryReservation != nil {
			ct.MemoryReservation = strconv.Itoa(int(c.GetMemoryReservation()))
		}
		task.Containers = append(task.Containers, ct)
	}
	return &berthv1.TaskRecord{Cluster: plan.Cluster, Id: id, InstanceId: instanceID, Task: task,
		Reservation: proto.Clone(plan.Need).(*berthv1.Resources), Family: td.Family, Revision: td.Revision}
}
