package autoscaling

import (
	"fmt"
	"math"
	"time"
)

// The datapoints rule of target tracking's alarms: the high alarm fires
// after HighDatapoints consecutive evaluations above the target, the low
// alarm after LowDatapoints consecutive evaluations below LowFactor of it
// (target tracking's AlarmLow), as Application Auto Scaling creates them
// for ECS services (one-minute periods).
const (
	HighDatapoints = 3
	LowDatapoints  = 15
	LowFactor      = 0.9
)

// Alarms is the state of a target tracking policy's two alarms:
// consecutive datapoints above the target and below its low threshold.
type Alarms struct {
	High, Low int32
}

// Observe adds one datapoint: the metric, or ok false when there is none
// (no running task reported: the alarms' datapoints start over).
func (a Alarms) Observe(metric float64, ok bool, target float64) Alarms {
	if !ok {
		return Alarms{}
	}
	if metric > target {
		a.High++
	} else {
		a.High = 0
	}
	if metric < target*LowFactor {
		a.Low++
	} else {
		a.Low = 0
	}
	return a
}

// Bounds are a scalable target's capacities and cooldown state.
type Bounds struct {
	Min, Max       int32
	LastScaleOut   time.Time
	LastScaleIn    time.Time
	ScaleInHalted  bool // SuspendedState.DynamicScalingInSuspended
	ScaleOutHalted bool
}

// Proposal is one policy's wish for the target's capacity.
type Proposal struct {
	// Desired is the capacity the policy wants (Current when none).
	Desired int32
	// Cause says why, in Application Auto Scaling's words for an activity's
	// Cause; "" when the policy wants nothing.
	Cause string
	// Alarms is the policy's alarm state after this evaluation.
	Alarms Alarms
}

// TrackTarget is one evaluation of a target tracking policy: the metric's
// datapoint joins the alarms, and an alarm that fires proposes
// ceil(current * metric / target), within the cooldowns and DisableScaleIn.
// Capacity limits are applied by Decide. After a scaling activity the
// caller starts every policy's alarms over (Alarms{}): the metric must show
// the new capacity before an alarm fires again.
func TrackTarget(name string, tt TargetTracking, alarms Alarms, metric float64, ok bool, current int32, b Bounds, now time.Time) Proposal {
	alarms = alarms.Observe(metric, ok, tt.Target)
	p := Proposal{Desired: current, Alarms: alarms}
	if !ok || current == 0 {
		return p
	}
	want := int32(min(math.Ceil(float64(current)*metric/tt.Target-1e-9), math.MaxInt32/2))
	switch {
	case alarms.High >= HighDatapoints && want > current:
		if b.ScaleOutHalted || inCooldown(b.LastScaleOut, tt.ScaleOutCooldown, now) {
			return p
		}
		p.Desired = want
		p.Cause = fmt.Sprintf("monitor alarm TargetTracking-%s-AlarmHigh in state ALARM triggered policy %s", name, name)
	case alarms.Low >= LowDatapoints && want < current:
		if tt.DisableScaleIn || b.ScaleInHalted || inCooldown(b.LastScaleIn, tt.ScaleInCooldown, now) {
			return p
		}
		p.Desired = max(want, 1)
		p.Cause = fmt.Sprintf("monitor alarm TargetTracking-%s-AlarmLow in state ALARM triggered policy %s", name, name)
	}
	return p
}

func inCooldown(last time.Time, seconds int32, now time.Time) bool {
	return !last.IsZero() && now.Before(last.Add(time.Duration(seconds)*time.Second))
}

// StepAdjust is a step scaling policy's new capacity when its alarm fires
// with the metric breach (metric minus the alarm's threshold): the step
// whose interval holds the breach (lower bound inclusive, upper
// exclusive), applied as the adjustment type says; ok false when no step
// holds it.
func StepAdjust(s StepScaling, current int32, breach float64) (int32, bool) {
	for _, st := range s.Steps {
		if breach < lower(st) || breach >= upper(st) {
			continue
		}
		switch s.AdjustmentType {
		case ExactCapacity:
			return st.Adjustment, true
		case PercentChangeInCapacity:
			delta := float64(current) * float64(st.Adjustment) / 100
			d := int32(math.Trunc(delta)) // Application Auto Scaling rounds toward zero
			if d == 0 && st.Adjustment != 0 {
				d = sign(st.Adjustment)
			}
			if s.MinMagnitude > 0 && abs(d) < s.MinMagnitude {
				d = sign(st.Adjustment) * s.MinMagnitude
			}
			return current + d, true
		default:
			return current + st.Adjustment, true
		}
	}
	return current, false
}

func sign(v int32) int32 {
	if v < 0 {
		return -1
	}
	return 1
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// Decision is what the loop does with a target.
type Decision struct {
	// Desired is the capacity to set (Current: nothing to do).
	Desired int32
	// Cause is the activity's cause; Description its description.
	Cause, Description string
	// Out and In say which cooldown starts.
	Out, In bool
}

// Decide combines the policies' proposals as Application Auto Scaling
// does: any policy that scales out wins (the largest capacity), a scale-in
// happens only when every policy proposes one (the largest of theirs);
// and the result, or the current capacity, is kept within min and max.
func Decide(current int32, b Bounds, proposals []Proposal) Decision {
	d := Decision{Desired: current}
	out, inAll := current, len(proposals) > 0
	var outCause, inCause string
	inWant := int32(math.MinInt32)
	for _, p := range proposals {
		if p.Desired > out {
			out, outCause = p.Desired, p.Cause
		}
		if p.Desired < current {
			if p.Desired > inWant {
				inWant, inCause = p.Desired, p.Cause
			}
		} else {
			inAll = false
		}
	}
	switch {
	case out > current:
		d.Desired, d.Cause, d.Out = out, outCause, true
	case inAll:
		d.Desired, d.Cause, d.In = inWant, inCause, true
	}
	clamped := min(max(d.Desired, b.Min), b.Max)
	if clamped != d.Desired {
		if d.Cause == "" {
			d.Cause = fmt.Sprintf("the capacity %d is outside the scalable target's bounds [%d, %d]", current, b.Min, b.Max)
		}
		d.Desired = clamped
	}
	if d.Desired == current {
		return Decision{Desired: current}
	}
	d.Out, d.In = d.Desired > current, d.Desired < current
	d.Description = fmt.Sprintf("Setting desired count to %d.", d.Desired)
	return d
}
