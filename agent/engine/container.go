package engine

import (
	"time"

	"github.com/berth/berth/agent/runtime"
)

// phase is where the machine has got a container to. Phases only move forward; the
// "-ing" phases mean an action is in flight and its outcome is awaited.
type phase int

const (
	phasePending  phase = iota // nothing asked of the runtime yet
	phasePulling               // image pull in flight
	phasePulled                // image present, no container yet
	phaseCreating              // create in flight
	phaseCreated               // container exists, not started
	phaseStarting              // start in flight
	phaseRunning               // started and not seen to exit
	phaseStopping              // stop in flight
	phaseExited                // exited or never started; has a runtime id to remove
	phaseRemoving              // remove in flight
	phaseRemoved               // gone from the runtime, or never created
)

// OOMReason is the container reason ECS gives a container killed for its memory limit.
const OOMReason = "OutOfMemoryError: Container killed due to memory usage"

// container is one container of a task as the machine knows it.
type container struct {
	name      string // the container definition's name, or pauseName
	essential bool
	deps      []dependency
	spec      runtime.ContainerSpec

	// startTimeout is ECS's startTimeout: how long, from its start, the containers
	// that depend on this one wait for it to reach their condition. 0 is forever.
	startTimeout time.Duration

	phase     phase
	id        string    // the runtime's id, once created
	started   bool      // has ever run (dependsOn START)
	startedAt time.Time // when the machine first saw it run
	exitCode  *int32
	reason    string
	health    runtime.HealthStatus
	// imageDigest is the digest of the image the container runs, as the runtime
	// reports it (ECS's imageDigest).
	imageDigest string
	bindings    []runtime.NetworkBinding
	// hostBindings are what a host-mode container binds: its container ports, which
	// Docker does not list as bindings.
	hostBindings []runtime.NetworkBinding
	// published are an awsvpc container's ports that its task's pause container
	// publishes for it; it reports the pause container's bindings of them.
	published []runtime.PortMapping
}

// observe takes in the container's state as the runtime reports it and says whether
// the container exited just now. Exited is final: a stale report that it runs (from an
// inspect that raced the exit) changes nothing.
func (c *container) observe(s runtime.ContainerState) (exitedNow bool) {
	if c.phase >= phaseExited {
		return false
	}
	if s.ImageDigest != "" {
		c.imageDigest = s.ImageDigest
	}
	switch s.Status {
	case runtime.StatusRunning:
		c.started = true
		c.phase = max(c.phase, phaseRunning)
		c.health = s.Health
		switch {
		case len(s.NetworkBindings) > 0:
			c.bindings = s.NetworkBindings
		case len(c.hostBindings) > 0:
			c.bindings = c.hostBindings
		}
	case runtime.StatusExited:
		c.exited(s)
		return true
	}
	return false
}

// exited records the end of a container that ran.
func (c *container) exited(s runtime.ContainerState) {
	code := int32(s.ExitCode)
	c.phase, c.started, c.exitCode = phaseExited, true, &code
	c.health = runtime.HealthNone // a health check says nothing of an exited container
	switch {
	case s.OOMKilled:
		c.reason = OOMReason
	case s.Error != "":
		c.reason = s.Error
	}
}

// fail ends a container that could not be created, started or stopped.
func (c *container) fail(reason string) {
	c.reason = reason
	if c.id == "" {
		c.phase = phaseRemoved
		return
	}
	c.phase = phaseExited
}

// abandon ends a container the stopping task will not start. In-flight actions are
// left to finish; their outcome abandons the container then.
func (c *container) abandon() {
	switch c.phase {
	case phasePending, phasePulled:
		c.phase = phaseRemoved
	case phaseCreated:
		c.phase = phaseExited
	}
}

// live reports whether the container runs or may be about to.
func (c *container) live() bool {
	return c.phase >= phaseCreating && c.phase <= phaseStopping && c.phase != phaseCreated
}

// lastStatus is the container's lastStatus as ECS reports it.
func (c *container) lastStatus() string {
	switch {
	case c.phase >= phaseExited:
		return StatusStopped
	case c.phase >= phaseRunning:
		return StatusRunning
	}
	return StatusPending
}
