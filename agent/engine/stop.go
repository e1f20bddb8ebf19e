package engine

// stopActions moves a stopping task toward STOPPED and then out of the runtime.
// Containers stop in reverse dependency order: one stops only when nothing that
// depends on it still runs, and the pause container only after every task container.
// Once all have exited they are removed, the pause container last, and then the task's
// volumes.
func (t *task) stopActions() []action {
	var acts []action
	for _, c := range t.all() {
		c.abandon()
	}
	if !t.allExited() {
		for _, c := range t.all() {
			if c.phase == phaseRunning && !t.dependedOn(c) {
				c.phase = phaseStopping
				acts = append(acts, action{kind: actStop, container: c.name, id: c.id, timeout: c.spec.StopTimeout})
			}
		}
		return acts
	}
	for _, c := range t.containers {
		acts = append(acts, c.removal()...)
	}
	if t.pause != nil && t.allRemoved() {
		acts = append(acts, t.pause.removal()...)
	}
	return append(acts, t.volumesRemoval()...)
}

// dependedOn reports whether a live container depends on c.
func (t *task) dependedOn(c *container) bool {
	for _, d := range t.containers {
		if d == c || !d.live() {
			continue
		}
		if c == t.pause {
			return true
		}
		for _, dep := range d.deps {
			if dep.container == c.name {
				return true
			}
		}
	}
	return false
}

// allRemoved reports whether every task container (the pause container aside) is gone.
func (t *task) allRemoved() bool {
	for _, c := range t.containers {
		if c.phase != phaseRemoved {
			return false
		}
	}
	return true
}

// removal is the action that removes an exited container, if it is due.
func (c *container) removal() []action {
	if c.phase != phaseExited {
		return nil
	}
	c.phase = phaseRemoving
	return []action{{kind: actRemove, container: c.name, id: c.id}}
}
