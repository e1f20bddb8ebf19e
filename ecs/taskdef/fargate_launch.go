package taskdef

import (
	"slices"
	"strconv"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// CheckFargateLaunch checks that a stored (normalized) task definition can
// run on Fargate: it lists FARGATE in requiresCompatibilities, uses awsvpc,
// and has a task size from Fargate's table. Registration already enforces the
// last two for definitions that list FARGATE; this is what RunTask and
// CreateService check for launchType FARGATE. Errors name the field.
func CheckFargateLaunch(td *berthv1.TaskDefinition) error {
	if !slices.Contains(td.GetRequiresCompatibilities(), "FARGATE") {
		return ecserr.Param("taskDefinition", "its requiresCompatibilities must list FARGATE, got %v",
			td.GetRequiresCompatibilities()).Says("Task definition does not support launch_type FARGATE.")
	}
	cpu, _ := strconv.Atoi(td.GetCpu())
	memory, _ := strconv.Atoi(td.GetMemory())
	t := &task{td: td, fargate: true, cpu: cpu, memory: memory}
	if err := t.checkFargate(); err != nil {
		e := *ecserr.From(err)
		e.Field, e.Detail = "taskDefinition."+e.Field, "taskDefinition."+e.Detail
		e.Exception = ecserr.InvalidParameterException
		return &e
	}
	return nil
}

// FargateSizes lists Fargate's valid task sizes (CPU units, MiB), smallest
// first.
func FargateSizes() [][2]int {
	var out [][2]int
	for _, s := range fargateSizes {
		for _, m := range s.memory {
			out = append(out, [2]int{s.cpu, m})
		}
	}
	return out
}
