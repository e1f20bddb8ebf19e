package taskdef

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Validate checks req against ECS's task definition rules and returns the
// normalized task definition to store, without revision, ARN, status or
// registeredAt. req is not modified. An error is an *ecserr.Error of class
// InvalidArgument naming the field path of the first rule broken.
func Validate(req *berthv1.RegisterTaskDefinitionRequest) (*berthv1.TaskDefinition, error) {
	t := &task{td: fromRequest(req)}
	checks := []func() error{
		t.checkFamily,
		t.checkTaskSize,
		t.checkNetworkMode,
		t.checkCompatibilities,
		t.checkFargate,
		t.checkNamespaces,
		t.checkEphemeralStorage,
		t.checkVolumes,
		t.checkContainers,
		t.checkPlacementConstraints,
		t.checkProxyConfiguration,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return t.td, nil
}

// task is a task definition being checked and normalized in place, with what
// the checks learn on the way.
type task struct {
	td      *berthv1.TaskDefinition
	fargate bool // requiresCompatibilities lists FARGATE
	// cpu and memory are the task-level size in CPU units and MiB; 0 if unset.
	cpu, memory int
	containers  map[string]int  // container name -> index
	volumes     map[string]bool // task volume names
}

// fromRequest copies every field of req that a task definition has.
func fromRequest(req *berthv1.RegisterTaskDefinitionRequest) *berthv1.TaskDefinition {
	if req == nil {
		return &berthv1.TaskDefinition{}
	}
	req = proto.Clone(req).(*berthv1.RegisterTaskDefinitionRequest)
	return &berthv1.TaskDefinition{
		Family:                  req.Family,
		TaskRoleArn:             req.TaskRoleArn,
		ExecutionRoleArn:        req.ExecutionRoleArn,
		NetworkMode:             req.NetworkMode,
		ContainerDefinitions:    req.ContainerDefinitions,
		Volumes:                 req.Volumes,
		PlacementConstraints:    req.PlacementConstraints,
		RequiresCompatibilities: req.RequiresCompatibilities,
		Cpu:                     req.Cpu,
		Memory:                  req.Memory,
		PidMode:                 req.PidMode,
		IpcMode:                 req.IpcMode,
		ProxyConfiguration:      req.ProxyConfiguration,
		InferenceAccelerators:   req.InferenceAccelerators,
		EphemeralStorage:        req.EphemeralStorage,
		RuntimePlatform:         req.RuntimePlatform,
		EnableFaultInjection:    req.EnableFaultInjection,
	}
}

// cpath is the path of a field of container i.
func cpath(i int, field string) string {
	return fmt.Sprintf("containerDefinitions[%d].%s", i, field)
}
