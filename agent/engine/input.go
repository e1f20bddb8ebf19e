package engine

import (
	"errors"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// An input is something a task machine learns: a new assignment, the outcome of an
// action it asked for, or a container's state as the runtime reports it.
type input interface {
	apply(t *task)
}

// assigned is the task's assignment, sent again (its desiredStatus may have changed).
type assigned struct{ a *berthv1.TaskAssignment }

func (in assigned) apply(t *task) {
	if in.a.GetTask().GetDesiredStatus() == StatusStopped {
		t.assignment, t.desired = in.a, StatusStopped
	}
}

// unassignedReason is the stoppedReason of a task left out of a full assignment set.
const unassignedReason = "Task is no longer assigned to this container instance"

// unassigned says a full assignment set left the task out: it must stop.
type unassigned struct{}

func (unassigned) apply(t *task) {
	t.unassigned = true
	t.stop("", unassignedReason)
}

// adopted seeds a task with the containers a restarted agent found in the runtime, so
// they are neither pulled nor created again.
type adopted struct{ states []runtime.ContainerState }

func (in adopted) apply(t *task) {
	for _, s := range in.states {
		if c := t.container(s.Labels[runtime.LabelContainerName]); c != nil && c.id == "" {
			c.id, c.phase = s.ID, phaseCreated
			t.observe(c, s)
		}
	}
}

// pulled is the outcome of a pull action.
type pulled struct {
	container string
	err       error
}

// apply takes the pull's outcome to every container of the task waiting for the
// same image: an image is pulled once per task.
func (in pulled) apply(t *task) {
	c := t.container(in.container)
	if c == nil || c.phase != phasePulling {
		return
	}
	for _, p := range t.all() {
		if p.phase != phasePulling || p.spec.Image != c.spec.Image {
			continue
		}
		if in.err != nil {
			t.failToStart(p, pullReason(in.err))
		} else {
			p.phase = phasePulled
		}
	}
}

// pullReason is ECS's stoppedReason for a failed pull: the runtime's error reads so
// already when it wraps runtime.ErrCannotPull.
func pullReason(err error) string {
	if errors.Is(err, runtime.ErrCannotPull) {
		return err.Error()
	}
	return runtime.ErrCannotPull.Error() + ": " + err.Error()
}

// created is the outcome of a create action.
type created struct {
	container string
	id        string
	err       error
}

func (in created) apply(t *task) {
	c := t.container(in.container)
	if c == nil || c.phase != phaseCreating {
		return
	}
	if in.err != nil {
		t.failToStart(c, "CannotCreateContainerError: "+in.err.Error())
		return
	}
	c.id, c.phase = in.id, phaseCreated
}

// started is the outcome of a start action, with the container's state just after.
type started struct {
	container string
	state     runtime.ContainerState
	err       error
}

func (in started) apply(t *task) {
	c := t.container(in.container)
	if c == nil || c.phase != phaseStarting {
		return
	}
	if in.err != nil {
		t.failToStart(c, "CannotStartContainerError: "+in.err.Error())
		return
	}
	t.observe(c, in.state)
}

// stopped is the outcome of a stop action, with the container's state just after.
type stopped struct {
	container string
	state     runtime.ContainerState
	err       error
}

func (in stopped) apply(t *task) {
	c := t.container(in.container)
	if c == nil {
		return
	}
	t.observe(c, in.state)
	if c.phase != phaseStopping {
		return
	}
	// Not seen to exit; removal kills it.
	reason := "CannotStopContainerError: the container did not exit"
	if in.err != nil {
		reason = "CannotStopContainerError: " + in.err.Error()
	}
	c.fail(reason)
}

// removed is the outcome of a remove action. A container that cannot be removed is
// left behind (and logged by the engine); the task does not wait for it forever.
type removed struct{ container string }

func (in removed) apply(t *task) {
	if c := t.container(in.container); c != nil && c.phase == phaseRemoving {
		c.phase = phaseRemoved
	}
}

// observed is a container's state as the runtime reported it after an event. err
// wrapping runtime.ErrNotFound means the container is gone.
type observed struct {
	container string
	id        string
	state     runtime.ContainerState
	err       error
}

func (in observed) apply(t *task) {
	c := t.container(in.container)
	if c == nil || c.id != in.id {
		return
	}
	if errors.Is(in.err, runtime.ErrNotFound) && c.phase < phaseExited {
		c.fail("container was removed outside berth")
		c.phase = phaseRemoved
		t.exited(c)
		return
	}
	if in.err == nil {
		t.observe(c, in.state)
	}
}

// observe takes in c's state; an essential container that exits stops the task.
func (t *task) observe(c *container, s runtime.ContainerState) {
	if c.observe(s) {
		t.exited(c)
	}
}

// woke is the end of a wait the machine asked for: the time has come to check a
// startTimeout, which handle does with every input.
type woke struct{}

func (woke) apply(*task) {}

// failToStart ends a container that cannot be pulled, created or started, or whose
// dependency can never be met. As in ECS, that stops only this container, unless it
// is essential: then the task fails to start.
func (t *task) failToStart(c *container, reason string) {
	c.fail(reason)
	if c.essential {
		t.stop(StopCodeTaskFailedToStart, reason)
	}
}

func (t *task) exited(c *container) {
	if c.essential {
		t.stop(StopCodeEssentialContainerExited, EssentialExitReason)
	}
}
