package capacity

import (
	"sort"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Scaling is a capacity provider's managed scaling, as the decision reads
// it.
type Scaling struct {
	Enabled bool
	// TargetCapacity is the reservation (percent) scaling aims at.
	TargetCapacity int
	// MinStep and MaxStep bound one scaling step (MaxStep 0: unbounded).
	MinStep, MaxStep int
	// WarmUp is how long after a scale-out the next may come.
	WarmUp time.Duration
}

// ScalingOf reads a provider's managed scaling.
func ScalingOf(ms *berthv1.ManagedScaling) Scaling {
	return Scaling{Enabled: ms.GetStatus() == "ENABLED", TargetCapacity: int(ms.GetTargetCapacity()),
		MinStep: int(ms.GetMinimumScalingStepSize()), MaxStep: int(ms.GetMaximumScalingStepSize()),
		WarmUp: time.Duration(ms.GetInstanceWarmupPeriod()) * time.Second}
}

// GroupInstance is one of a provider's instances as the decision sees it.
type GroupInstance struct {
	ID string
	// Host is the id the provisioner started it with; "" when it
	// registered by itself (it counts, but is never removed).
	Host   hostpool.HostID
	Status string // ACTIVE, DRAINING
	// Busy: it runs (or was just given) a task other than a DAEMON
	// service's. Tasks counts all its running and pending tasks.
	Busy  bool
	Tasks int
	// Protected: it runs a task whose scale-in protection lasts (a DAEMON
	// service's too), so managed scaling does not scale it in.
	Protected    bool
	RegisteredAt float64
	Removing     bool // being deregistered and stopped
}

// TaskNeed is what a task waiting for the provider needs of an instance.
type TaskNeed struct {
	Group       string
	CPU, Memory int64
	Ports       []int32 // static host ports, TCP and UDP
	// Distinct: a distinctInstance constraint keeps it off an instance
	// that runs a task of its group.
	Distinct bool
}

// History is what managed scaling carries from one decision to the next.
type History struct {
	// Below is since when the reservation has been below the target (zero:
	// it is not).
	Below time.Time
	// NextScaleOut holds off a scale-out for the warm-up of the last.
	NextScaleOut time.Time
	// Draining are the instances managed scaling set DRAINING to remove.
	Draining map[string]bool
}

// GroupConfig is what the decision needs of the manager's configuration.
type GroupConfig struct {
	// ScaleInAfter is how long the reservation stays below the target
	// before instances are removed.
	ScaleInAfter time.Duration
	// MaxInstances bounds the provider's instances in a cluster.
	MaxInstances int
}

// GroupState is one provider's instance group in one cluster at one
// moment.
type GroupState struct {
	Instances []GroupInstance
	// Starting counts the instances asked for that have not registered.
	Starting int
	// Waiting are the tasks still waiting for the provider's instances.
	Waiting []TaskNeed
	// Size is an instance's size (for how many the waiting tasks need).
	Size scheduler.Resources
	// CanProvision: instances can be started and stopped (else the
	// decision only measures the reservation).
	CanProvision bool
	// StartsAfter is the back-off after a failed start.
	StartsAfter time.Time
	History     History
}

// ScalingDecision is what managed scaling does to one instance group.
type ScalingDecision struct {
	// Use is the reservation's terms: N running, M needed.
	Use ProviderUse
	// Step is ScalingStep at this reservation; ScaleOut the instances to
	// start now (the step within MaxInstances, after the warm-up).
	Step, ScaleOut int
	// Drain are idle instances to set DRAINING; Remove the drained ones
	// that run no task any more, to deregister and stop.
	Drain  []string
	Remove []GroupInstance
	// History is for the next decision.
	History History
}

// DecideScaling decides one pass of managed scaling over a provider's
// instance group in a cluster: the reservation, then a scale-out step (no
// sooner than the warm-up of the last, or the back-off of a failed start),
// or, once the reservation stayed below the target for ScaleInAfter, a
// scale-in that drains the newest idle instances (ECS's managed draining;
// DAEMON tasks do not make an instance busy, but a protected task of any
// service keeps its instance from being scaled in); instances it drained are
// removed once they run no task. It does no I/O and reads no clock: now is
// the time.
func DecideScaling(cfg GroupConfig, sc Scaling, s GroupState, now time.Time) ScalingDecision {
	h := History{Below: s.History.Below, NextScaleOut: s.History.NextScaleOut, Draining: map[string]bool{}}
	d := ScalingDecision{}
	active, busy := 0, 0
	var idle []GroupInstance
	for _, in := range s.Instances {
		drained := s.History.Draining[in.ID]
		if drained && in.Status == store.StatusActive {
			drained = false // reactivated by someone: keep it
		}
		if drained {
			h.Draining[in.ID] = true
			if !in.Removing && in.Tasks == 0 && s.CanProvision {
				d.Remove = append(d.Remove, in)
			}
		}
		if in.Status != store.StatusActive || drained {
			continue
		}
		active++
		if in.Busy {
			busy++
		} else if in.Host != "" && !in.Protected {
			idle = append(idle, in)
		}
	}
	d.Use = ProviderUse{Running: active + s.Starting, Needed: busy + instancesFor(s.Waiting, s.Size)}
	d.History = h
	if !s.CanProvision {
		return d
	}
	d.Step = ScalingStep(d.Use.Running, d.Use.Needed, sc)
	if d.Step >= 0 {
		h.Below = time.Time{}
	} else if h.Below.IsZero() {
		h.Below = now
	}
	switch {
	case d.Step > 0 && !now.Before(h.NextScaleOut) && !now.Before(s.StartsAfter):
		d.ScaleOut = max(min(d.Step, cfg.MaxInstances-d.Use.Running), 0)
		if d.ScaleOut > 0 {
			h.NextScaleOut = now.Add(sc.WarmUp)
		}
	case d.Step < 0 && now.Sub(h.Below) >= cfg.ScaleInAfter:
		// The newest first, as ECS's managed draining.
		sort.SliceStable(idle, func(i, j int) bool { return idle[i].RegisteredAt > idle[j].RegisteredAt })
		for _, in := range idle[:min(-d.Step, len(idle))] {
			d.Drain = append(d.Drain, in.ID)
			h.Draining[in.ID] = true
		}
		if len(d.Drain) > 0 {
			h.Below = now // the next step waits for another full period
		}
	}
	d.History = h
	return d
}

// instancesFor is how many empty instances of the size the tasks need,
// packed first-fit decreasing by their larger share of an instance; tasks
// with the same static host port, or of a group with a distinctInstance
// constraint, do not share one. A task larger than the size needs one of
// its own.
func instancesFor(tasks []TaskNeed, size scheduler.Resources) int {
	type bin struct {
		cpu, memory int64
		ports       map[int32]bool
		groups      map[string]bool
	}
	share := func(t TaskNeed) float64 {
		return max(float64(t.CPU)/float64(max(size.CPU, 1)), float64(t.Memory)/float64(max(size.Memory, 1)))
	}
	list := append([]TaskNeed(nil), tasks...)
	sort.SliceStable(list, func(i, j int) bool { return share(list[i]) > share(list[j]) })
	var bins []*bin
	n := 0
	for _, t := range list {
		if t.CPU > size.CPU || t.Memory > size.Memory {
			n++
			continue
		}
		fits := func(b *bin) bool {
			if b.cpu+t.CPU > size.CPU || b.memory+t.Memory > size.Memory || t.Distinct && b.groups[t.Group] {
				return false
			}
			for _, p := range t.Ports {
				if b.ports[p] {
					return false
				}
			}
			return true
		}
		var chosen *bin
		for _, b := range bins {
			if fits(b) {
				chosen = b
				break
			}
		}
		if chosen == nil {
			chosen = &bin{ports: map[int32]bool{}, groups: map[string]bool{}}
			bins = append(bins, chosen)
		}
		chosen.cpu += t.CPU
		chosen.memory += t.Memory
		for _, p := range t.Ports {
			chosen.ports[p] = true
		}
		chosen.groups[t.Group] = true
	}
	return n + len(bins)
}
