package capacity

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestReservation(t *testing.T) {
	for _, tt := range []struct {
		running, needed int
		want            float64
	}{
		{0, 0, 100}, {0, 3, 200}, {4, 4, 100}, {4, 2, 50}, {2, 5, 250}, {10, 0, 0},
	} {
		if got := Reservation(tt.running, tt.needed); got != tt.want {
			t.Errorf("Reservation(N=%d, M=%d) = %v, want %v", tt.running, tt.needed, got, tt.want)
		}
	}
}

func TestScalingStep(t *testing.T) {
	ms := func(target, lo, hi int32) *berthv1.ManagedScaling {
		return &berthv1.ManagedScaling{Status: "ENABLED", TargetCapacity: target, MinimumScalingStepSize: lo, MaximumScalingStepSize: hi}
	}
	for _, tt := range []struct {
		name            string
		running, needed int
		ms              *berthv1.ManagedScaling
		want            int
	}{
		{"empty stays empty", 0, 0, ms(100, 1, 10000), 0},
		{"from zero to fit", 0, 5, ms(100, 1, 10000), 5},
		{"at target", 5, 5, ms(100, 1, 10000), 0},
		{"target 50 keeps spare", 2, 2, ms(50, 1, 10000), 2},
		{"target 80 rounds up", 4, 4, ms(80, 1, 10000), 1},
		{"max step caps scale-out", 0, 50, ms(100, 1, 10), 10},
		{"min step raises scale-out", 3, 4, ms(100, 3, 10), 3},
		{"scale in", 6, 2, ms(100, 1, 10000), -4},
		{"max step caps scale-in", 6, 2, ms(100, 1, 3), -3},
		{"scale in to zero", 3, 0, ms(100, 1, 10000), -3},
		{"disabled", 0, 5, &berthv1.ManagedScaling{Status: "DISABLED", TargetCapacity: 100}, 0},
	} {
		if got := ScalingStep(tt.running, tt.needed, ScalingOf(tt.ms)); got != tt.want {
			t.Errorf("%s: ScalingStep(N=%d, M=%d) = %d, want %d", tt.name, tt.running, tt.needed, got, tt.want)
		}
	}
}
