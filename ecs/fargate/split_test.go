package fargate

import (
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	fg, spot := ProviderFargate, ProviderFargateSpot
	tests := []struct {
		strategy []Share
		existing map[string]int
		n        int
		want     string // FARGATE and FARGATE_SPOT counts
	}{
		{[]Share{{fg, 1, 2}, {spot, 3, 0}}, nil, 10, "4 6"},
		{[]Share{{fg, 1, 2}, {spot, 3, 0}}, nil, 2, "2 0"},
		{[]Share{{fg, 1, 2}, {spot, 3, 0}}, nil, 1, "1 0"},
		{[]Share{{fg, 1, 0}, {spot, 4, 0}}, nil, 10, "2 8"},
		{[]Share{{fg, 0, 3}, {spot, 1, 0}}, nil, 5, "3 2"},                            // weight 0 gets its base only
		{[]Share{{fg, 1, 2}, {spot, 3, 0}}, map[string]int{fg: 4, spot: 6}, 4, "1 3"}, // a service scaling out
		{[]Share{{fg, 1, 2}, {spot, 3, 0}}, map[string]int{fg: 1}, 1, "1 0"},          // its base not yet full
		{[]Share{{spot, 1, 0}}, nil, 3, "0 3"},
	}
	for _, tt := range tests {
		got := map[string]int{}
		for _, p := range Split(tt.strategy, tt.existing, tt.n) {
			got[p]++
		}
		if s := fmt.Sprintf("%d %d", got[fg], got[spot]); s != tt.want {
			t.Errorf("Split(%v, %v, %d) = %s, want %s", tt.strategy, tt.existing, tt.n, s, tt.want)
		}
	}
}
