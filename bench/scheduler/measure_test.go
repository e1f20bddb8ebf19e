package main

import (
	"testing"

	"github.com/berth/berth/scheduler"
)

func TestFargatePairs(t *testing.T) {
	tests := []struct {
		cpu, memory int64
		want        int
	}{
		{65536, 262144, 74}, // every Fargate size
		{16384, 65536, 67},  // 16 vCPU with more than 64 GiB does not fit
		{1024, 2048, 3 + 2 + 1},
	}
	for _, tt := range tests {
		if got := len(fargatePairs(config{instanceCPU: tt.cpu, instanceMemory: tt.memory})); got != tt.want {
			t.Errorf("%d/%d: %d pairs, want %d", tt.cpu, tt.memory, got, tt.want)
		}
	}
}

// TestMeasurePacking checks the packing numbers on every workload against their
// definitions; it asserts nothing about speed.
func TestMeasurePacking(t *testing.T) {
	for name := range workloads {
		c := config{instances: 200, tasks: 300, zones: 3, instanceCPU: 65536, instanceMemory: 262144,
			workload: name, seed: 1, strategies: []scheduler.Strategy{{Type: scheduler.StrategyBinpack, Field: scheduler.FieldResources}}}
		r := measure(c, generate(c))
		if r.Placed != 300 || r.Failed != 0 {
			t.Errorf("%s: placed %v, failed %v; want all 300 placed", name, r.Placed, r.Failed)
		}
		if r.LowerBound < 1 || r.InstancesUsed < r.LowerBound || r.Quality != r.InstancesUsed/r.LowerBound {
			t.Errorf("%s: used %v, lower bound %v, quality %v", name, r.InstancesUsed, r.LowerBound, r.Quality)
		}
		if r.StrandedCPUPct < 0 || r.StrandedCPUPct > 100 || r.StrandedMemPct < 0 || r.StrandedMemPct > 100 {
			t.Errorf("%s: stranded %v%% CPU, %v%% memory", name, r.StrandedCPUPct, r.StrandedMemPct)
		}
	}
}
