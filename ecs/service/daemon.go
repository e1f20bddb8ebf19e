package service

import "sort"

// daemon runs one PRIMARY task on every eligible instance (ACTIVE,
// connected, admitted by the constraints) and none elsewhere. A daemon task
// on a draining instance stops last: once the instance runs no other task.
func (d *decider) daemon() {
	s := d.in.Service
	byInstance := map[string][]Task{}
	for _, tasks := range d.live {
		for _, t := range tasks {
			byInstance[t.Instance] = append(byInstance[t.Instance], t)
		}
	}
	eligible := map[string]bool{}
	var startOn []string
	var replace []Task // old-deployment tasks on eligible instances
	for _, in := range d.in.Instances {
		if in.Status != instanceActive || !in.Connected || !in.Eligible {
			continue
		}
		eligible[in.ID] = true
		tasks := byInstance[in.ID]
		sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
		hasPrimary := false
		for _, t := range tasks {
			switch {
			case t.Deployment == d.primary && !hasPrimary:
				hasPrimary = true
			case t.Deployment == d.primary:
				d.out.Stop = append(d.out.Stop, Stop{Task: t.ID, Reason: "Duplicate daemon task on the instance"})
			default:
				replace = append(replace, t)
			}
		}
		if !hasPrimary && !hasOld(tasks, d.primary) {
			startOn = append(startOn, in.ID)
		}
	}
	d.stopOffEligible(byInstance, eligible)
	// Rolling a daemon: an instance's old task stops before its new one
	// starts (maximumPercent is 100), while minimumHealthyPercent allows.
	healthy := 0
	for _, tasks := range byInstance {
		for _, t := range tasks {
			if eligible[t.Instance] && d.healthy(t) {
				healthy++
			}
		}
	}
	minHealthy := (len(eligible)*s.MinHealthyPercent + 99) / 100
	d.stopDoomed(replace, healthy-minHealthy)
	if len(startOn) > 0 && d.mayStart() && d.primary != "" {
		d.out.Start = append(d.out.Start, Start{Deployment: d.primary, Count: len(startOn), Instances: startOn})
	}
}

func hasOld(tasks []Task, primary string) bool {
	for _, t := range tasks {
		if t.Deployment != primary {
			return true
		}
	}
	return false
}

// stopOffEligible stops daemon tasks on instances that are not eligible; on
// a draining instance only once it has no other task.
func (d *decider) stopOffEligible(byInstance map[string][]Task, eligible map[string]bool) {
	others := map[string]int{}
	for _, in := range d.in.Instances {
		others[in.ID] = in.OtherTasks
	}
	ids := make([]string, 0, len(byInstance))
	for id := range byInstance {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if eligible[id] || others[id] > 0 {
			continue
		}
		for _, t := range byInstance[id] {
			d.out.Stop = append(d.out.Stop, Stop{Task: t.ID, Reason: "Daemon task on an instance it no longer runs on"})
		}
	}
}
