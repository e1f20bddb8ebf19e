package service

import "math"

// Deployment controllers, task set statuses and stability statuses, as ECS
// names them.
const (
	ControllerECS      = "ECS"
	ControllerExternal = "EXTERNAL"

	TaskSetDraining = "DRAINING"

	SteadyState = "STEADY_STATE"
	Stabilizing = "STABILIZING"
)

// TaskSet is what Decide needs of one task set of a service with the
// EXTERNAL deployment controller. Its tasks are those started by its ID.
type TaskSet struct {
	ID             string
	Status         string // Primary, Active or TaskSetDraining
	TaskDefinition string
	// Scale is the task set's share of the service's desired count, in
	// percent (0-100).
	Scale float64
}

// TaskSetState is a task set after a decision.
type TaskSetState struct {
	ID                   string
	ComputedDesiredCount int
	Stability            string // SteadyState or Stabilizing
}

// ComputedDesiredCount is ECS's computedDesiredCount of a task set: the
// service's desired count times the scale, rounded up (1.2 tasks are 2).
// A rounding error of the product (10 x 30.000000000000004 %) does not add
// a task.
func ComputedDesiredCount(desired int, scale float64) int {
	if desired <= 0 || scale <= 0 {
		return 0
	}
	return int(math.Ceil(float64(desired)*scale/100 - 1e-9))
}

// taskSets keeps each task set at its computed desired count: a DRAINING one
// at none. Tasks on draining or vanished instances are replaced as a
// deployment's are (stopped while minimumHealthyPercent of the set's count
// stay healthy); maximumPercent does not bound a task set, as ECS ignores it
// for external deployments. A task set is STEADY_STATE when it runs its
// count, all RUNNING (and HEALTHY where they have a health check), with
// nothing to start or stop; a DRAINING one with no task left is dropped.
func (d *decider) taskSets() {
	s := d.in.Service
	steady := true
	for _, ts := range s.TaskSets {
		want := 0
		if ts.Status != TaskSetDraining {
			want = ComputedDesiredCount(s.DesiredCount, ts.Scale)
		}
		var keep, doomed []Task
		healthy := 0
		for _, t := range d.live[ts.ID] {
			if d.healthy(t) {
				healthy++
			}
			if d.doomed[t.ID] {
				doomed = append(doomed, t)
			} else {
				keep = append(keep, t)
			}
		}
		before := len(d.out.Start) + len(d.out.Stop) + len(d.out.ScaleIn)
		if excess := len(keep) - want; excess > 0 {
			d.out.ScaleIn = append(d.out.ScaleIn, ScaleIn{Deployment: ts.ID, Count: excess,
				Reason: "Scaling activity initiated by (deployment " + ts.ID + ")"})
		}
		minHealthy := (want*s.MinHealthyPercent + 99) / 100
		d.stopDoomed(doomed, healthy-minHealthy)
		if n := want - len(keep); n > 0 && d.mayStart() {
			d.out.Start = append(d.out.Start, Start{Deployment: ts.ID, Count: n})
		}
		quiet := len(d.out.Start)+len(d.out.Stop)+len(d.out.ScaleIn) == before
		if ts.Status == TaskSetDraining && len(d.live[ts.ID]) == 0 && d.stoppingOf[ts.ID] == 0 {
			continue // gone: nothing of it is left
		}
		state := TaskSetState{ID: ts.ID, ComputedDesiredCount: want, Stability: Stabilizing}
		if quiet && len(doomed) == 0 && len(keep) == want && d.stoppingOf[ts.ID] == 0 && allSettled(d.live[ts.ID]) {
			state.Stability = SteadyState
		} else {
			steady = false
		}
		d.out.TaskSets = append(d.out.TaskSets, state)
	}
	d.out.Steady = steady
	if steady && !s.Steady {
		d.say("(service %s) has reached a steady state.", s.Name)
	}
}

// allSettled reports whether every task is RUNNING, and HEALTHY where it has
// a health check.
func allSettled(tasks []Task) bool {
	for _, t := range tasks {
		if t.LastStatus != Running || t.HasHealthCheck && t.HealthStatus != healthHealthy {
			return false
		}
	}
	return true
}

// ofTaskSet reports whether a task belongs to one of the service's task
// sets; a task of no task set (one removed under it) is to be replaced.
func (d *decider) ofTaskSet(t Task) bool {
	for _, ts := range d.in.Service.TaskSets {
		if ts.ID == t.Deployment {
			return true
		}
	}
	return false
}
