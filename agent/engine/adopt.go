package engine

import (
	"context"
	"errors"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// adopt finds this instance's containers in the runtime and holds their states until
// the first full assignment set says which tasks they belong to. The volumes of tasks
// with no container left are removed.
func (l *loop) adopt(ctx context.Context) error {
	byTask, err := l.e.list(ctx)
	if err != nil {
		return err
	}
	l.e.sweepVolumes(byTask)
	for arn, cs := range byTask {
		for _, c := range cs {
			s, err := l.e.rt.Inspect(ctx, c.ID)
			if errors.Is(err, runtime.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("adopt container %s of task %s: %w", c.ID, arn, err)
			}
			s.ID, s.Labels = c.ID, c.Labels
			l.adopted[arn] = append(l.adopted[arn], s)
		}
	}
	return nil
}

// readopt refreshes the state of an adopted container from an observation.
func (l *loop) readopt(taskARN string, o observed) {
	states := l.adopted[taskARN]
	for i, s := range states {
		if s.ID != o.id {
			continue
		}
		switch {
		case errors.Is(o.err, runtime.ErrNotFound):
			l.adopted[taskARN] = append(states[:i:i], states[i+1:]...)
		case o.err == nil:
			o.state.ID, o.state.Labels = s.ID, s.Labels
			states[i] = o.state
		}
		return
	}
}

// orphanAssignment is what stands for a task found in the runtime that the control
// plane did not assign: enough of a definition to stop its containers, the pause
// container last, and remove them.
func orphanAssignment(taskARN string, states []runtime.ContainerState) *berthv1.TaskAssignment {
	td := &berthv1.TaskDefinition{NetworkMode: runtime.NetworkBridge}
	seen := map[string]bool{}
	for _, s := range states {
		switch name := s.Labels[runtime.LabelContainerName]; {
		case name == pauseName:
			td.NetworkMode = NetworkAWSVPC
		case !seen[name]:
			seen[name] = true
			td.ContainerDefinitions = append(td.ContainerDefinitions, &berthv1.ContainerDefinition{Name: name})
		}
	}
	return &berthv1.TaskAssignment{
		Task:           &berthv1.Task{TaskArn: taskARN, DesiredStatus: StatusStopped},
		TaskDefinition: td,
	}
}
