package service

import (
	"fmt"
	"time"
)

// Decide is the service scheduler's decision for one moment.
func Decide(in Input) Decision {
	if in.HealthGrace == 0 {
		in.HealthGrace = defaultHealthGrace
	}
	d := &decider{in: in, out: Decision{Counts: map[string]Counts{}}}
	d.classify()
	d.circuitBreaker()
	d.backoff()
	switch {
	case in.Service.External:
		d.taskSets()
		return d.out
	case in.Service.SchedulingStrategy == Daemon:
		d.daemon()
	default:
		d.replica()
	}
	d.rollout()
	return d.out
}

// decider holds one decision in the making.
type decider struct {
	in  Input
	out Decision

	primary string
	// live are the tasks the scheduler still wants (desired RUNNING, not
	// STOPPED), by deployment; doomed those of them to be replaced.
	live   map[string][]Task
	doomed map[string]bool
	// offInstance are the live tasks on a draining or vanished instance.
	offInstance map[string]bool
	// failedBeforeRunning counts stopped tasks that never reached RUNNING.
	failedBeforeRunning int
	// stopping counts tasks asked to stop that have not stopped yet: they
	// still count against maximumPercent; stoppingOf counts them by
	// deployment (or task set).
	stopping   int
	stoppingOf map[string]int
	// rolledBack: a rollback deployment starts afresh, without back-off.
	rolledBack bool
}

// classify sorts the tasks and counts them per deployment.
func (d *decider) classify() {
	d.out.Deployments = append([]Deployment(nil), d.in.Service.Deployments...)
	if len(d.out.Deployments) > 0 {
		d.primary = d.out.Deployments[0].ID
	}
	instances := map[string]Instance{}
	for _, i := range d.in.Instances {
		instances[i.ID] = i
	}
	d.live, d.doomed, d.stoppingOf = map[string][]Task{}, map[string]bool{}, map[string]int{}
	d.offInstance = map[string]bool{}
	for _, t := range d.in.Tasks {
		c := d.out.Counts[t.Deployment]
		switch {
		case t.LastStatus == Stopped:
			if failed(t) {
				c.Failed++
			}
			if !t.EverRan && t.StopCode != StopSchedulerInitiated && t.StopCode != "" {
				d.failedBeforeRunning++
			}
		case t.DesiredStatus == Stopped:
			d.stopping++ // on its way out: not the service's any more, but still there
			d.stoppingOf[t.Deployment]++
		default:
			d.live[t.Deployment] = append(d.live[t.Deployment], t)
			if t.LastStatus == Running {
				c.Running++
			} else {
				c.Pending++
			}
			if d.healthy(t) {
				c.Healthy++
			}
			in, ok := instances[t.Instance]
			waiting := t.Instance == "" // a Fargate task waiting for capacity: no instance yet
			offInstance := !waiting && (!ok || in.Status != instanceActive)
			if d.obsolete(t) || offInstance {
				d.doomed[t.ID] = true
			}
			if offInstance {
				d.offInstance[t.ID] = true
			}
		}
		d.out.Counts[t.Deployment] = c
	}
}

// obsolete reports whether a task belongs to what the service no longer
// runs: an older deployment, or no task set of an EXTERNAL service.
func (d *decider) obsolete(t Task) bool {
	if d.in.Service.External {
		return !d.ofTaskSet(t)
	}
	return t.Deployment != d.primary
}

func failed(t Task) bool {
	return t.StopCode == StopFailedToStart || t.StopCode == StopEssentialExited || t.FailedHealthChecks
}

// healthy is ECS's notion: RUNNING and HEALTHY, or RUNNING for the grace
// period without a health check.
func (d *decider) healthy(t Task) bool {
	if t.LastStatus != Running {
		return false
	}
	if t.HasHealthCheck {
		return t.HealthStatus == healthHealthy
	}
	return !t.StartedAt.IsZero() && d.in.Now.Sub(t.StartedAt) >= d.in.HealthGrace
}

// circuitBreaker fails the PRIMARY deployment when too many of its tasks
// failed, and rolls back if asked.
func (d *decider) circuitBreaker() {
	s := d.in.Service
	if !s.CircuitBreaker || len(d.out.Deployments) == 0 || d.out.Deployments[0].RolloutState != InProgress {
		return
	}
	threshold := min(max((s.DesiredCount+1)/2, 10), 200)
	if d.out.Counts[d.primary].Failed < threshold {
		return
	}
	d.out.Deployments[0].RolloutState = Failed
	d.say("(service %s) (deployment %s) deployment failed: tasks failed to start.", s.Name, d.primary)
	if !s.Rollback {
		return
	}
	for _, dep := range d.out.Deployments[1:] {
		if dep.RolloutState == Completed {
			back := Deployment{ID: d.in.NewDeploymentID, Status: Primary, TaskDefinition: dep.TaskDefinition,
				RolloutState: InProgress, CreatedAt: d.in.Now, RollbackOf: d.primary, RollbackTo: dep.ID}
			d.out.Deployments[0].Status = Active
			d.out.Deployments = append([]Deployment{back}, d.out.Deployments...)
			d.primary = back.ID
			d.rolledBack = true
			d.say("(service %s) rolling back to deployment %s.", s.Name, dep.ID)
			// Every live task is now of an older deployment: the rollback
			// replaces them all, within the same percent bounds.
			for _, tasks := range d.live {
				for _, t := range tasks {
					d.doomed[t.ID] = true
				}
			}
			return
		}
	}
}

// backoff slows starts down while tasks keep failing before RUNNING.
func (d *decider) backoff() {
	b := d.in.Service.Backoff
	if d.rolledBack {
		b = Backoff{Seen: d.failedBeforeRunning}
	}
	if fresh := d.failedBeforeRunning - b.Seen; fresh > 0 {
		b.Failures += fresh
		b.Seen = d.failedBeforeRunning
		if b.Failures >= startFailuresBeforeSlow {
			delay := min(firstStartBackoff<<min(b.Failures-startFailuresBeforeSlow, 20), maxStartBackoff)
			b.NextStart = d.in.Now.Add(delay)
			d.say("(service %s) is unable to consistently start tasks successfully.", d.in.Service.Name)
		}
	}
	for id, tasks := range d.live {
		if id != d.primary && !d.in.Service.External {
			continue
		}
		for _, t := range tasks {
			if t.LastStatus == Running && b.Failures > 0 { // a start that worked resets the count
				b.Failures, b.NextStart = 0, time.Time{}
			}
		}
	}
	d.out.Backoff = b
}

// protected reports whether a task's scale-in protection lasts at Now.
func (d *decider) protected(t Task) bool { return t.ProtectedUntil.After(d.in.Now) }

// mayStart reports whether the back-off lets tasks start now.
func (d *decider) mayStart() bool { return !d.in.Now.Before(d.out.Backoff.NextStart) }

func (d *decider) say(format string, args ...any) {
	d.out.Events = append(d.out.Events, fmt.Sprintf(format, args...))
}
