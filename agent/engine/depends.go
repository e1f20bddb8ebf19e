package engine

import (
	"fmt"

	"github.com/berth/berth/agent/runtime"
)

// dependsOn conditions, as in a container definition.
const (
	condStart    = "START"
	condComplete = "COMPLETE"
	condSuccess  = "SUCCESS"
	condHealthy  = "HEALTHY"
)

// dependency is one dependsOn entry: container must meet condition before the dependent
// starts. A link is a START dependency: Docker links need the target running.
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
	}
	return false
}

// never says why the condition can no longer hold for c, or "" while it still may.
func (d dependency) never(c *container) string {
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
