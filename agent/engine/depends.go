package engine

import (
	"fmt"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// dependsOn conditions, as in a container definition.
const (
	condStart    = "START"
	condComplete = "COMPLETE"
	condSuccess  = "SUCCESS"
	condHealthy  = "HEALTHY"
	// condCreated is no ECS condition: a container that takes volumesFrom another
	// waits until that one is created, as the ECS agent orders them.
	condCreated = "CREATED"
)

// dependency is one dependsOn entry: container must meet condition before the dependent
// starts. A link is a START dependency: Docker links need the target running; a
// volumesFrom is a CREATED dependency.
type dependency struct {
	container string
	condition string
}

// met reports whether the dependency's condition holds for c.
func (d dependency) met(c *container) bool {
	switch d.condition {
	case condStart:
		return c.started
	case condComplete:
		return c.exitCode != nil
	case condSuccess:
		return c.exitCode != nil && *c.exitCode == 0
	case condHealthy:
		return c.phase == phaseRunning && c.health == runtime.HealthHealthy
	case condCreated:
		return c.id != ""
	}
	return false
}

// never says why the condition can no longer hold for c at now, or "" while it
// still may.
func (d dependency) never(c *container, now time.Time) string {
	if d.met(c) {
		return ""
	}
	if c.phase >= phaseExited && !c.started {
		if c.reason != "" {
			return "could not start: " + c.reason
		}
		return "did not start"
	}
	if c.timedOut(d.condition, now) {
		return fmt.Sprintf("did not reach it within its startTimeout of %s", c.startTimeout)
	}
	switch d.condition {
	case condSuccess:
		if c.exitCode != nil && *c.exitCode != 0 {
			return fmt.Sprintf("exited with code %d", *c.exitCode)
		}
	case condHealthy:
		if c.phase >= phaseExited {
			return "exited before it was healthy"
		}
		if c.health == runtime.HealthUnhealthy {
			return "is unhealthy"
		}
	}
	return ""
}

// dependencyReason is the stoppedReason of a task whose container can never start.
func dependencyReason(dependent string, d dependency, why string) string {
	return fmt.Sprintf("DependencyConditionNotMet: container %q depends on %q (%s), which %s",
		dependent, d.container, d.condition, why)
}

// timedOut reports whether c, which others wait on for condition, has had its
// startTimeout since it started: ECS's time for a dependency to reach COMPLETE,
// SUCCESS or HEALTHY. START needs no time beyond the start itself.
func (c *container) timedOut(condition string, now time.Time) bool {
	if c.startTimeout <= 0 || c.startedAt.IsZero() || condition == condStart || condition == condCreated {
		return false
	}
	return !now.Before(c.startedAt.Add(c.startTimeout))
}

// wakeAt is when c's startTimeout runs out for the containers that wait on it, or
// the zero time when none waits with a timeout.
func (t *task) wakeAt(c *container) time.Time {
	if c.startTimeout <= 0 || c.startedAt.IsZero() {
		return time.Time{}
	}
	for _, w := range t.containers {
		for _, d := range w.deps {
			if d.container == c.name && d.condition != condStart && d.condition != condCreated {
				return c.startedAt.Add(c.startTimeout)
			}
		}
	}
	return time.Time{}
}
