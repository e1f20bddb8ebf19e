package capacity

// Reservation is ECS's CapacityProviderReservation metric: needed / running
// x 100, where running (N) is the provider's running instances and needed
// (M) the instances it takes to run all of its tasks, including those
// waiting for capacity. With no instance it is 100 when nothing is needed
// and 200 when something is, as ECS has it.
func Reservation(running, needed int) float64 {
	switch {
	case running == 0 && needed == 0:
		return 100
	case running == 0:
		return 200
	}
	return float64(needed) / float64(running) * 100
}

// ScalingStep is how many instances managed scaling adds (above 0) or
// removes (below 0) to bring the reservation to the target capacity: the
// instances it takes for needed to be targetCapacity percent of them,
// stepped within minimumScalingStepSize and maximumScalingStepSize (scale-in
// within the maximum only). Zero when managed scaling is disabled, or at the
// target.
func ScalingStep(running, needed int, sc Scaling) int {
	if !sc.Enabled || sc.TargetCapacity <= 0 {
		return 0
	}
	target := sc.TargetCapacity
	want := (needed*100 + target - 1) / target // ceil(needed / (target/100))
	lo, hi := max(sc.MinStep, 1), sc.MaxStep
	if hi <= 0 {
		hi = 10000
	}
	switch {
	case want > running:
		return min(max(want-running, lo), hi)
	case want < running:
		return -min(running-want, hi)
	}
	return 0
}

// ProviderUse is what Reservation needs of one provider's instances in a
// cluster: running counts its ACTIVE instances and those starting; needed
// the instances that run tasks other than DAEMON services', plus those the
// tasks waiting for it would fill (packed onto empty instances).
type ProviderUse struct {
	Running, Needed int
}
