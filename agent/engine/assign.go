package engine

import (
	"context"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// assign applies an assignment message. A full set also stops every task left out of
// it, and every adopted task it does not name, as an orphan. A full set comes on each
// (re)connect, when reports may have been lost with the session, so every task's state
// is reported afresh.
func (l *loop) assign(ctx context.Context, msg *berthv1.Assignments) {
	if msg.GetFull() {
		clear(l.sent)
	}
	inSet := make(map[string]bool, len(msg.GetTasks()))
	for _, a := range msg.GetTasks() {
		if a.GetTask().GetTaskArn() == "" || a.GetTaskDefinition() == nil {
			l.log.Warn("assignment without a task ARN or task definition ignored", "task", a.GetTask().GetTaskArn())
			continue
		}
		inSet[a.GetTask().GetTaskArn()] = true
		l.assignTask(ctx, a)
	}
	if !msg.GetFull() {
		return
	}
	for arn, t := range l.tasks {
		if !inSet[arn] {
			l.step(ctx, t, unassigned{})
		}
	}
	for arn, states := range l.adopted {
		l.log.Info("stopping containers of a task not assigned to this instance", "task", arn, "containers", len(states))
		l.start(ctx, orphanAssignment(arn, states), states, false)
	}
	l.adopted = nil
}

// assignTask starts a task's machine, with its adopted containers if there are any,
// or passes a known task its assignment. A task first assigned as STOPPED with
// nothing of it in the runtime gets a machine too, which reports it STOPPED at once
// without a runtime call: the control plane waits for that report (the task counts
// against its service's maximumPercent until then), and none would come otherwise
// when the task was stopped before its agent ever had it, or when its agent stopped
// it and died before the report was acknowledged.
func (l *loop) assignTask(ctx context.Context, a *berthv1.TaskAssignment) {
	arn := a.GetTask().GetTaskArn()
	if t := l.tasks[arn]; t != nil {
		l.step(ctx, t, assigned{a})
		return
	}
	states := l.adopted[arn]
	delete(l.adopted, arn)
	l.start(ctx, a, states, true)
}

// start makes the machine of a task new to the loop, seeded with the containers of it
// found in the runtime; report is false for an orphan.
func (l *loop) start(ctx context.Context, a *berthv1.TaskAssignment, states []runtime.ContainerState, report bool) {
	t := newTask(a, l.e.opts)
	t.report = report
	if !report {
		// An orphan's definition is unknown; its volumes directory, if any, goes too.
		t.volumesDir = taskVolumesDir(l.e.opts.VolumesDir, t.arn)
	}
	l.tasks[t.arn] = t
	l.step(ctx, t, adopted{states})
	l.removeStrays(ctx, t, states)
	if ep := l.e.opts.TaskEndpoint; ep != nil && report {
		for _, s := range states {
			if c := t.container(s.Labels[runtime.LabelContainerName]); c != nil && c.id == s.ID && s.Status == runtime.StatusRunning {
				l.spawn(ctx, t.arn, func(ctx context.Context) input {
					if err := ep.ContainerStarted(ctx, t.arn, c.name, s); err != nil {
						l.log.Warn("the task endpoint is not served to a re-adopted container", "task", t.arn, "container", c.name, "err", err)
					}
					return nil
				})
			}
		}
	}
}

// removeStrays removes the adopted containers a task's machine did not take: a second
// container under one container name, or one its definition does not name.
func (l *loop) removeStrays(ctx context.Context, t *task, states []runtime.ContainerState) {
	for _, s := range states {
		if c := t.container(s.Labels[runtime.LabelContainerName]); c != nil && c.id == s.ID {
			continue
		}
		l.log.Info("removing a stray container", "task", t.arn, "container", s.Name, "id", s.ID)
		l.spawn(ctx, t.arn, func(ctx context.Context) input {
			l.e.remove(ctx, action{kind: actRemove, container: s.Labels[runtime.LabelContainerName], id: s.ID})
			return nil
		})
	}
}
