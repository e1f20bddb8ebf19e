package service

// rollout brings the deployments up to date: the PRIMARY one COMPLETED when
// it has its tasks and nothing else is left, older ones dropped when they
// have no task; and says when the service reaches a steady state.
func (d *decider) rollout() {
	s := d.in.Service
	target := s.DesiredCount
	if s.SchedulingStrategy == Daemon {
		target = 0
		for _, in := range d.in.Instances {
			if in.Status == instanceActive && in.Connected && in.Eligible {
				target++
			}
		}
	}
	var kept []Deployment
	othersLive := false
	for i, dep := range d.out.Deployments {
		if i > 0 {
			if len(d.live[dep.ID]) == 0 {
				continue // INACTIVE: nothing of it is left
			}
			othersLive = true
		}
		kept = append(kept, dep)
	}
	d.out.Deployments = kept
	if len(kept) == 0 {
		return
	}
	p := &d.out.Deployments[0]
	done := d.out.Counts[p.ID].Healthy >= target && len(d.live[p.ID]) == target && !othersLive
	if p.RolloutState == InProgress && done {
		p.RolloutState = Completed
		d.say("(service %s) (deployment %s) deployment completed.", s.Name, p.ID)
	}
	quiet := len(d.out.Start) == 0 && len(d.out.Stop) == 0 && len(d.out.ScaleIn) == 0
	d.out.Steady = quiet && done
	if d.out.Steady && !s.Steady {
		d.say("(service %s) has reached a steady state.", s.Name)
	}
}
