package engine

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// task is the state machine of one task: pure, driven by handle. It never blocks and
// never calls the runtime; it asks for runtime calls by returning actions.
type task struct {
	arn        string
	assignment *berthv1.TaskAssignment
	// pause is the pause container that holds the task's namespaces: its network
	// namespace in awsvpc mode, its PID and IPC namespaces with pidMode or ipcMode
	// "task". nil when the task needs none.
	pause *container
	// awsvpc, sharePID and shareIPC say which of the pause container's namespaces the
	// task's containers join.
	awsvpc, sharePID, shareIPC bool
	containers                 []*container // in definition order

	// scopedVolumes are the host directories of the task's task-scoped volumes;
	// volumesDir is the directory that holds them, "" once removed (or if there are
	// none).
	scopedVolumes   []string
	volumesDir      string
	removingVolumes bool

	desired    string // the desiredStatus last assigned
	unassigned bool   // a full assignment set left the task out
	// report is false for an orphan: a task found in the runtime that the control plane
	// does not know, which is stopped and removed without a word.
	report bool

	status        string // lastStatus
	stopping      bool
	stopCode      string
	stoppedReason string

	pullStartedAt, pullStoppedAt, startedAt, stoppingAt, executionStoppedAt time.Time
}

// newTask is the machine of an assigned task, every container PENDING.
func newTask(a *berthv1.TaskAssignment, opts Options) *task {
	t := &task{
		arn:        a.GetTask().GetTaskArn(),
		assignment: a,
		desired:    a.GetTask().GetDesiredStatus(),
		report:     true,
		status:     StatusPending,
	}
	td := a.GetTaskDefinition()
	t.awsvpc = networkMode(a) == NetworkAWSVPC
	t.sharePID, t.shareIPC = td.GetPidMode() == namespaceTask, td.GetIpcMode() == namespaceTask
	if t.awsvpc || t.sharePID || t.shareIPC {
		t.pause = newPause(a, opts, t.awsvpc, t.shareIPC)
		if opts.PauseImage == "" {
			t.stop(StopCodeTaskFailedToStart, "awsvpc, pidMode task and ipcMode task need a pause container image, and the agent has none configured")
		}
	}
	for _, def := range a.GetTaskDefinition().GetContainerDefinitions() {
		t.containers = append(t.containers, newContainer(a, def, opts))
	}
	if t.scopedVolumes = scopedVolumeDirs(a, opts); len(t.scopedVolumes) > 0 {
		t.volumesDir = taskVolumesDir(opts.VolumesDir, t.arn)
	}
	if why := volumeProblem(a, opts); why != "" {
		t.stop(StopCodeTaskFailedToStart, why)
	}
	if why := a.GetImagePullsError(); why != "" { // the registry credentials could not be had
		t.stop(StopCodeTaskFailedToStart, why)
	}
	return t
}

// handle applies one input (nil for none) and returns the runtime calls to make next.
// now is when the input arrived; it dates the task's timestamps.
func (t *task) handle(now time.Time, in input) []action {
	if in != nil {
		in.apply(t)
	}
	wakes := t.dateStarts(now)
	t.checkStop(now)
	var acts []action
	if t.stopping {
		acts = t.stopActions()
	} else {
		acts = append(t.startActions(now), wakes...)
	}
	t.advance(now)
	return acts
}

// dateStarts records when containers were first seen to run, and asks to be woken
// when a startTimeout that others wait on runs out.
func (t *task) dateStarts(now time.Time) []action {
	var acts []action
	for _, c := range t.containers {
		if !c.started || !c.startedAt.IsZero() {
			continue
		}
		c.startedAt = now
		if at := t.wakeAt(c); !at.IsZero() {
			acts = append(acts, action{kind: actWake, container: c.name, timeout: at.Sub(now)})
		}
	}
	return acts
}

// stop starts stopping the task; the first reason to stop is the one reported.
func (t *task) stop(code, reason string) {
	if t.stopping {
		return
	}
	t.stopping, t.stopCode, t.stoppedReason = true, code, reason
}

// checkStop stops the task when the control plane wants it stopped, and fails the
// containers that can never start because a dependency's condition can no longer
// hold (which stops the task if one is essential).
func (t *task) checkStop(now time.Time) {
	if t.desired == StatusStopped {
		t.stop(t.assignment.GetTask().GetStopCode(), t.assignment.GetTask().GetStoppedReason())
	}
	if t.stopping {
		return
	}
	for _, c := range t.containers {
		if c.phase != phasePending && c.phase != phasePulled && c.phase != phaseCreated {
			continue // in flight, started or done
		}
		for _, d := range c.deps {
			if dc := t.container(d.container); dc != nil {
				if why := d.never(dc, now); why != "" {
					t.failToStart(c, dependencyReason(c.name, d, why))
					break
				}
			}
		}
	}
}

// advance moves lastStatus forward and dates each step.
func (t *task) advance(now time.Time) {
	if !t.pullStartedAt.IsZero() && t.pullStoppedAt.IsZero() && !t.any(phasePulling) {
		t.pullStoppedAt = now
	}
	if t.stopping && t.stoppingAt.IsZero() {
		t.stoppingAt = now
	}
	switch {
	case t.status == StatusStopped:
	case t.stopping && t.allExited():
		t.status, t.executionStoppedAt = StatusStopped, now
	case t.stopping:
		t.status = StatusStopping
	case t.status == StatusRunning:
	case t.essentialsRunning():
		t.status, t.startedAt = StatusRunning, now
	case t.awsvpc && t.pause.phase == phaseRunning:
		t.status = StatusActivating
	}
}

// essentialsRunning reports whether every essential container runs.
func (t *task) essentialsRunning() bool {
	for _, c := range t.containers {
		if c.essential && c.phase != phaseRunning {
			return false
		}
	}
	return true
}

// done reports whether the task is stopped and nothing of it is left in the runtime
// or in its volumes directory.
func (t *task) done() bool {
	if t.volumesDir != "" {
		return false
	}
	for _, c := range t.all() {
		if c.phase != phaseRemoved {
			return false
		}
	}
	return t.status == StatusStopped
}

// all is the task's containers with the pause container, if any, first.
func (t *task) all() []*container {
	if t.pause == nil {
		return t.containers
	}
	return append([]*container{t.pause}, t.containers...)
}

// container is the container named name (a definition's name or pauseName), or nil.
func (t *task) container(name string) *container {
	for _, c := range t.all() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (t *task) any(p phase) bool {
	for _, c := range t.all() {
		if c.phase == p {
			return true
		}
	}
	return false
}

func (t *task) allExited() bool {
	for _, c := range t.all() {
		if c.phase < phaseExited {
			return false
		}
	}
	return true
}
