package scheduler

import (
	"fmt"
	"testing"
)

func TestPlaceLeavesCallerInstancesAlone(t *testing.T) {
	cluster := randomCluster(newRand(3), 5)
	before := fmt.Sprint(cluster)
	snap := NewSnapshot(cluster)
	if _, err := snap.Place(Request{Group: "service:web", Count: 3, Ports: []Port{{8080, TCP}}}); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprint(cluster); after != before {
		t.Errorf("Place changed the caller's instances:\n%s\nwas\n%s", after, before)
	}
}

// TestPlaceAllocations keeps the hot path's allocation budget: the Result's placements
// slice, the chosen instance's own copies of its ports and group counts the first time
// it takes a task in the snapshot, and nothing per instance looked at; making the
// snapshot allocates nothing per instance either. It counts allocations, not time.
func TestPlaceAllocations(t *testing.T) {
	cluster := make([]Instance, 1000)
	for i := range cluster {
		reg := Resources{CPU: 16384, Memory: 65536}
		cluster[i] = Instance{ARN: fmt.Sprintf("i-%d", i), Status: StatusActive, AgentConnected: true,
			Registered: reg, Remaining: reg,
			Attributes:   map[string]string{AttributeAvailabilityZone: string(rune('a' + i%3))},
			TasksByGroup: map[string]int{"service:web": 0}}
	}
	chains := map[string][]Strategy{
		"binpack(memory)":       {{Type: StrategyBinpack, Field: FieldMemory}},
		"spread AZ, binpack":    {{Type: StrategySpread, Field: AttributePrefix + AttributeAvailabilityZone}, {Type: StrategyBinpack, Field: FieldMemory}},
		"binpack(resources)":    {{Type: StrategyBinpack, Field: FieldResources}},
		"spread(instanceId)":    {{Type: StrategySpread, Field: FieldInstanceID}},
		"random, with distinct": {{Type: StrategyRandom}},
	}
	for name, chain := range chains {
		snap := NewSnapshot(cluster)
		r := Request{Group: "service:web", Count: 1, Resources: Resources{CPU: 256, Memory: 512}, Strategies: chain}
		if name == "random, with distinct" {
			r.Constraints, _ = ParseConstraints([]byte(`[{"type":"distinctInstance"}, {"type":"memberOf","expression":"attribute:ecs.availability-zone != b"}]`))
		}
		snap.Place(r) // build the indexes
		allocs := testing.AllocsPerRun(200, func() {
			if res, err := snap.Place(r); err != nil || len(res.Placements) != 1 {
				t.Fatalf("%s: %v %+v", name, err, res)
			}
		})
		if allocs > 3 {
			t.Errorf("%s: %.1f allocations per placement, want at most 3", name, allocs)
		}
	}
	if allocs := testing.AllocsPerRun(20, func() { NewSnapshot(cluster) }); allocs > 10 {
		t.Errorf("NewSnapshot of %d instances: %.0f allocations, want a few, none per instance", len(cluster), allocs)
	}
}
