package engine

import (
	"strconv"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// pauseName is the container name (the runtime.LabelContainerName label) of an awsvpc
// task's pause container, as the ECS agent names its own.
const pauseName = "~internal~ecs~pause"

// runtimeName is the runtime's name for container of a task, unique per task as the ECS
// agent makes it: ecs-<family>-<revision>-<container>-<task id>.
func runtimeName(def *berthv1.TaskDefinition, taskARN, container string) string {
	if container == pauseName {
		container = "internalecspause"
	}
	name := strings.Join([]string{"ecs", def.GetFamily(), strconv.Itoa(int(def.GetRevision())), container, taskID(taskARN)}, "-")
	return dockerSafe(name)
}

// taskID is the last part of a task ARN (arn:aws:ecs:region:account:task/cluster/id).
func taskID(taskARN string) string {
	return taskARN[strings.LastIndex(taskARN, "/")+1:]
}

// dockerSafe replaces what a container name may not hold ([a-zA-Z0-9][a-zA-Z0-9_.-]*).
func dockerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, s)
}
