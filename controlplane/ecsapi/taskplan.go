package ecsapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane/ecserr"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// taskPlan is what a RunTask or StartTask request asks for, checked: the
// task definition, overrides, group and what each task reserves.
type taskPlan struct {
	cluster   string
	taskDef   *berthv1.TaskDefinitionRecord
	overrides *berthv1.TaskOverride
	group     string
	startedBy string
	tags      []*berthv1.Tag
	need      *berthv1.Resources
}

// newID is a random 32-hex-digit id, as ECS's task and instance ids.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// activeTaskDefinition resolves the taskDefinition parameter to an ACTIVE
// revision.
func (s *Server) activeTaskDefinition(v string) (*berthv1.TaskDefinitionRecord, error) {
	family, rev, err := parseTaskDefinition(v)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.TaskDefinition(family, rev)
	if err != nil {
		return nil, err
	}
	if rec.TaskDefinition.Status != store.StatusActive {
		return nil, ecserr.Param("taskDefinition", "%s:%d is INACTIVE: an INACTIVE revision cannot start new tasks", family, rev)
	}
	return rec, nil
}

// checkOverrides checks container overrides name containers of the task
// definition; task-level cpu and memory overrides are not taken.
func checkOverrides(td *berthv1.TaskDefinition, o *berthv1.TaskOverride) error {
	if o.GetCpu() != "" || o.GetMemory() != "" {
		return ecserr.Param("overrides", "task-level cpu and memory overrides are not supported; override containers' cpu and memory")
	}
	for i, co := range o.GetContainerOverrides() {
		path := fmt.Sprintf("overrides.containerOverrides[%d]", i)
		if containerDef(td, co.GetName()) == nil {
			return ecserr.Param(path+".name", "no container %q in %s:%d", co.GetName(), td.Family, td.Revision)
		}
		for field, v := range map[string]*int32{"cpu": co.Cpu, "memory": co.Memory, "memoryReservation": co.MemoryReservation} {
			if v != nil && *v < 0 {
				return ecserr.Param(path+"."+field, "must not be negative")
			}
		}
	}
	return nil
}

func containerDef(td *berthv1.TaskDefinition, name string) *berthv1.ContainerDefinition {
	for _, c := range td.ContainerDefinitions {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func containerOverride(o *berthv1.TaskOverride, name string) *berthv1.ContainerOverride {
	for _, co := range o.GetContainerOverrides() {
		if co.GetName() == name {
			return co
		}
	}
	return nil
}

// reservation is what one task holds on its instance, by ECS's rules:
// task-level cpu and memory when set, else the sum over containers (memory:
// memoryReservation if set, else memory), with container overrides applied;
// GPUs from resourceRequirements; static host ports in bridge and host mode
// (awsvpc tasks have ports of their own).
func reservation(td *berthv1.TaskDefinition, o *berthv1.TaskOverride) *berthv1.Resources {
	r := &berthv1.Resources{}
	for _, c := range td.ContainerDefinitions {
		cpu, mem, res := c.GetCpu(), c.GetMemory(), c.GetMemoryReservation()
		if co := containerOverride(o, c.Name); co != nil {
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
	if n, err := strconv.Atoi(td.Cpu); err == nil && n > 0 {
		r.Cpu = int32(n)
	}
	if n, err := strconv.Atoi(td.Memory); err == nil && n > 0 {
		r.Memory = int32(n)
	}
	return r
}

// schedulerRequest is the plan as the scheduler's request for count tasks.
func (p *taskPlan) schedulerRequest(count int, strategies []scheduler.Strategy, constraints []scheduler.Constraint) scheduler.Request {
	req := scheduler.Request{
		Group:       p.group,
		Count:       count,
		Resources:   resources(p.need),
		Strategies:  strategies,
		Constraints: constraints,
		Seed:        randomSeed(),
	}
	for _, port := range p.need.PortsTcp {
		req.Ports = append(req.Ports, scheduler.Port{HostPort: uint16(port), Protocol: scheduler.TCP})
	}
	for _, port := range p.need.PortsUdp {
		req.Ports = append(req.Ports, scheduler.Port{HostPort: uint16(port), Protocol: scheduler.UDP})
	}
	return req
}

func randomSeed() uint64 {
	b := make([]byte, 8)
	rand.Read(b)
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// newTask is the record of one task of the plan on an instance, PENDING.
func (s *Server) newTask(p *taskPlan, instanceID, az string) *berthv1.TaskRecord {
	id := newID()
	td := p.taskDef.TaskDefinition
	task := &berthv1.Task{
		TaskArn:              s.arns.Task(p.cluster, id),
		ClusterArn:           s.arns.Cluster(p.cluster),
		TaskDefinitionArn:    s.arns.TaskDefinition(td.Family, td.Revision),
		ContainerInstanceArn: s.arns.ContainerInstance(p.cluster, instanceID),
		Overrides:            p.overrides,
		LastStatus:           store.TaskPending,
		DesiredStatus:        store.TaskRunning,
		Cpu:                  strconv.Itoa(int(p.need.Cpu)),
		Memory:               strconv.Itoa(int(p.need.Memory)),
		Group:                p.group,
		StartedBy:            p.startedBy,
		LaunchType:           "EC2",
		AvailabilityZone:     az,
		HealthStatus:         "UNKNOWN",
		Version:              1,
		Tags:                 p.tags,
	}
	for _, c := range td.ContainerDefinitions {
		ct := &berthv1.Container{
			ContainerArn: s.arns.Container(p.cluster, id, newID()),
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
	return &berthv1.TaskRecord{Cluster: p.cluster, Id: id, InstanceId: instanceID, Task: task,
		Reservation: proto.Clone(p.need).(*berthv1.Resources)}
}
