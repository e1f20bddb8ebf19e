package service

import "sort"

// replica keeps DesiredCount tasks of the PRIMARY deployment, replacing
// doomed tasks within the percent bounds.
func (d *decider) replica() {
	s := d.in.Service
	maxTotal := s.DesiredCount * s.MaxPercent / 100
	minHealthy := (s.DesiredCount*s.MinHealthyPercent + 99) / 100
	var keep []Task
	var doomed []Task
	total, healthy := d.stopping, 0
	for _, tasks := range d.live {
		for _, t := range tasks {
			total++
			if d.healthy(t) {
				healthy++
			}
			if d.doomed[t.ID] {
				doomed = append(doomed, t)
			} else {
				keep = append(keep, t)
			}
		}
	}
	if excess := len(keep) - s.DesiredCount; excess > 0 {
		d.out.ScaleIn = append(d.out.ScaleIn, ScaleIn{Deployment: d.primary, Count: excess,
			Reason: "Scaling activity initiated by (deployment " + d.primary + ")"})
	}
	// Tasks asked to stop count against maximumPercent until they have
	// stopped: replacements for them start on a later decision.
	d.stopDoomed(doomed, healthy-minHealthy)
	need := s.DesiredCount - len(keep)
	if n := min(need, maxTotal-total); n > 0 && d.mayStart() && d.primary != "" {
		d.out.Start = append(d.out.Start, Start{Deployment: d.primary, Count: n})
	}
}

// stopDoomed stops doomed tasks: the ones that are not healthy at once, the
// healthy ones only while spare (how many healthy tasks may go) lasts.
func (d *decider) stopDoomed(doomed []Task, spare int) {
	sort.SliceStable(doomed, func(i, j int) bool { return !d.healthy(doomed[i]) && d.healthy(doomed[j]) })
	for _, t := range doomed {
		if d.healthy(t) {
			if spare <= 0 {
				break
			}
			spare--
		}
		d.out.Stop = append(d.out.Stop, Stop{Task: t.ID, Reason: d.stopReason(t)})
	}
}

// stopReason is ECS's stoppedReason for a task the scheduler replaces.
func (d *decider) stopReason(t Task) string {
	if !d.obsolete(t) {
		return "Task replaced: its container instance is draining or gone"
	}
	if d.in.Service.External {
		return "Scaling activity initiated by (deployment " + t.Deployment + ")"
	}
	return "Scaling activity initiated by (deployment " + d.primary + ")"
}
