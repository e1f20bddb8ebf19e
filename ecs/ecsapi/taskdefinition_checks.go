package ecsapi

import (
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/taskdef"
	"github.com/berth/berth/store"
)

// activeTaskDefinition resolves the taskDefinition parameter to an ACTIVE
// revision that berth can start tasks of.
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
		return nil, ecserr.Param("taskDefinition", "%s:%d is %s: only an ACTIVE revision can start new tasks", family, rev, rec.TaskDefinition.Status)
	}
	if err := taskdef.CheckLaunch(rec.TaskDefinition); err != nil {
		return nil, err
	}
	return rec, nil
}

// checkOverrides checks that container overrides name containers of the
// task definition, and normalizes the task-level cpu and memory overrides,
// which change what each task reserves (placement.Reservation).
func checkOverrides(td *berthv1.TaskDefinition, o *berthv1.TaskOverride, launchType string) error {
	if err := taskdef.NormalizeOverrideSize(td, o, launchType == "FARGATE"); err != nil {
		return err
	}
	if err := checkInferenceOverrides(o); err != nil {
		return err
	}
	for i, co := range o.GetContainerOverrides() {
		path := fmt.Sprintf("overrides.containerOverrides[%d]", i)
		if containerDef(td, co.GetName()) == nil {
			return ecserr.Param(path+".name", "no container %q in %s:%d", co.GetName(), td.Family, td.Revision)
		}
		if err := taskdef.CheckEnvironmentFiles(path+".environmentFiles", co.GetEnvironmentFiles()); err != nil {
			return err
		}
		if len(co.GetResourceRequirements()) > 0 {
			return ecserr.Param(path+".resourceRequirements", "not supported by berth yet: a task's GPUs are its task definition's")
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
