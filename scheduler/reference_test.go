package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// referencePlace is the placement definition written as plainly as possible: every task
// scores every feasible instance under every strategy from the raw instance fields and
// takes the lexicographically smallest (scores..., index). Place must agree with it.
func referencePlace(instances []Instance, r Request) []int {
	maxReg := Resources{CPU: 1, Memory: 1}
	for _, in := range instances {
		maxReg.CPU, maxReg.Memory = max(maxReg.CPU, in.Registered.CPU), max(maxReg.Memory, in.Registered.Memory)
	}
	rng := rand.NewPCG(r.Seed, 0)
	var chosen []int
	for range r.Count {
		salt := rng.Uint64()
		best, bestKey := -1, []int64(nil)
		for i := range instances {
			if !referenceFeasible(&instances[i], r) {
				continue
			}
			key := make([]int64, 0, len(r.Strategies))
			for _, s := range r.Strategies {
				key = append(key, referenceScore(instances, i, r, s, maxReg, salt))
			}
			if best < 0 || slices.Compare(key, bestKey) < 0 {
				best, bestKey = i, key
			}
		}
		if best < 0 {
			return chosen
		}
		chosen = append(chosen, best)
		in := &instances[best]
		in.Remaining = in.Remaining.Sub(r.Resources)
		in.UsedPorts = append(in.UsedPorts, r.Ports...)
		in.RunningTasksCount++
		in.TasksByGroup[r.Group]++
	}
	return chosen
}

func referenceFeasible(in *Instance, r Request) bool {
	if in.Status != StatusActive || !in.AgentConnected || !in.Remaining.Covers(r.Resources) {
		return false
	}
	for _, p := range r.Ports {
		if slices.Contains(in.UsedPorts, p) {
			return false
		}
	}
	for _, c := range r.Constraints {
		if c.Type == ConstraintDistinctInstance && in.TasksByGroup[r.Group] > 0 {
			return false
		}
		if c.Type == ConstraintMemberOf {
			e, err := ParseExpression(c.Expression)
			if err != nil || !e.Match(in) {
				return false
			}
		}
	}
	return true
}

func referenceScore(instances []Instance, i int, r Request, s Strategy, maxReg Resources, salt uint64) int64 {
	in := &instances[i]
	switch {
	case s.Type == StrategyRandom:
		return int64(mix64(salt^uint64(i)) >> 1)
	case s.Type == StrategyBinpack && s.Field == FieldCPU:
		return in.Remaining.CPU
	case s.Type == StrategyBinpack && s.Field == FieldMemory:
		return in.Remaining.Memory
	case s.Type == StrategyBinpack:
		return referenceFit(instances, i, r.Resources, maxReg)
	case s.Field == FieldInstanceID:
		return int64(in.TasksByGroup[r.Group])
	}
	name := strings.TrimPrefix(s.Field, AttributePrefix)
	v, has := in.Attributes[name]
	n := 0
	for j := range instances {
		if w, ok := instances[j].Attributes[name]; ok == has && w == v {
			n += instances[j].TasksByGroup[r.Group]
		}
	}
	return int64(n)
}

// referenceFit is binpack(resources)'s score, from the cluster's totals recounted.
func referenceFit(instances []Instance, i int, need, maxReg Resources) int64 {
	var reg, used Resources
	for _, in := range instances {
		reg, used = reg.Add(in.Registered), used.Add(in.Registered.Sub(in.Remaining))
	}
	gc := float64(used.CPU+need.CPU) / float64(max(reg.CPU, 1))
	gm := float64(used.Memory+need.Memory) / float64(max(reg.Memory, 1))
	top, n := max(gc, gm), math.Hypot(gc, gm)
	in := &instances[i]
	c := float64(in.Remaining.CPU-need.CPU) / float64(maxReg.CPU)
	m := float64(in.Remaining.Memory-need.Memory) / float64(maxReg.Memory)
	uc := 1 - float64(in.Remaining.CPU-need.CPU)/float64(in.Registered.CPU)
	um := 1 - float64(in.Remaining.Memory-need.Memory)/float64(in.Registered.Memory)
	off, full := uc*gm/n-um*gc/n, max(uc, um)
	return int64(math.Round(gm/top*m*m*fitScale)) + int64(math.Round((gc/top*c*c+balanceWeight*off*off*full*full)*fitScale))
}

// randomCluster makes a small, varied cluster: mixed sizes and fill, some instances
// draining or disconnected, some without an AZ, some ports taken, tasks of two groups.
func randomCluster(rng *rand.Rand, n int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		reg := Resources{CPU: 1024 << rng.IntN(3), Memory: 2048 << rng.IntN(3)}
		in := Instance{
			ARN: fmt.Sprintf("i-%d", i+1), Status: StatusActive, AgentConnected: rng.IntN(10) > 0,
			Registered:   reg,
			Remaining:    Resources{CPU: reg.CPU - 256*rng.Int64N(reg.CPU/256), Memory: reg.Memory - 512*rng.Int64N(reg.Memory/512)},
			Attributes:   map[string]string{AttributeInstanceType: []string{"t3.large", "m5.xlarge"}[rng.IntN(2)]},
			TasksByGroup: map[string]int{"service:web": rng.IntN(3), "service:db": rng.IntN(2)},
		}
		if rng.IntN(8) > 0 {
			in.Attributes[AttributeAvailabilityZone] = []string{"a", "b", "c"}[rng.IntN(3)]
		}
		if rng.IntN(10) == 0 {
			in.Status = StatusDraining
		}
		if rng.IntN(4) == 0 {
			in.UsedPorts = []Port{{80, TCP}}
		}
		out[i] = in
	}
	return out
}

// randomRequest draws a request from the strategy chains and constraints Place
// supports, including each fast path.
func randomRequest(rng *rand.Rand, seq int) Request {
	chains := [][]Strategy{
		nil,
		{{Type: StrategyBinpack, Field: FieldMemory}},
		{{Type: StrategyBinpack, Field: FieldCPU}, {Type: StrategySpread, Field: FieldInstanceID}},
		{{Type: StrategyBinpack, Field: FieldResources}},
		{{Type: StrategyBinpack, Field: FieldResources}, {Type: StrategyRandom}},
		{{Type: StrategySpread, Field: "attribute:" + AttributeAvailabilityZone}, {Type: StrategyBinpack, Field: FieldMemory}},
		{{Type: StrategySpread, Field: "attribute:" + AttributeAvailabilityZone}, {Type: StrategyBinpack, Field: FieldResources}, {Type: StrategySpread, Field: FieldInstanceID}},
		{{Type: StrategySpread, Field: "attribute:" + AttributeAvailabilityZone}, {Type: StrategySpread, Field: FieldInstanceID}},
		{{Type: StrategyRandom}},
		{{Type: StrategySpread, Field: "attribute:" + AttributeInstanceType}, {Type: StrategyBinpack, Field: FieldCPU}, {Type: StrategyRandom}},
	}
	constraints := [][]Constraint{
		nil, nil,
		{{Type: ConstraintDistinctInstance}},
		{{Type: ConstraintMemberOf, Expression: "attribute:ecs.availability-zone != a"}},
		{{Type: ConstraintMemberOf, Expression: "not(task:group == service:db) and runningTasksCount < 6"}},
	}
	r := Request{
		Group:       []string{"service:web", "service:db"}[rng.IntN(2)],
		Count:       1 + rng.IntN(8),
		Resources:   Resources{CPU: 128 * rng.Int64N(9), Memory: 256 * rng.Int64N(9)},
		Strategies:  chains[rng.IntN(len(chains))],
		Constraints: constraints[rng.IntN(len(constraints))],
		Seed:        uint64(seq),
	}
	if rng.IntN(5) == 0 {
		r.Ports = []Port{{80, TCP}}
	}
	return r
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func cloneAll(instances []Instance) []Instance {
	out := make([]Instance, len(instances))
	for i := range instances {
		out[i] = instances[i]
		out[i].owned = false
		out[i].own()
	}
	return out
}

// TestIndexedMatchesReference runs random request sequences through Place, with and
// without explanations (the indexed and the scanning paths), and through referencePlace:
// many small clusters, and a few large ones where the index scans go deep.
func TestIndexedMatchesReference(t *testing.T) {
	for _, size := range []struct{ clusters, instances, requests int }{{300, 40, 12}, {6, 400, 60}} {
		for seed := range uint64(size.clusters) {
			rng := newRand(seed)
			checkAgainstReference(t, rng, randomCluster(rng, 1+rng.IntN(size.instances)), size.requests)
		}
	}
}

func checkAgainstReference(t *testing.T, rng *rand.Rand, cluster []Instance, requests int) {
	t.Helper()
	ref := cloneAll(cluster)
	fast, scan := NewSnapshot(cluster), NewSnapshot(cluster)
	for seq := range requests {
		r := randomRequest(rng, seq)
		want := referencePlace(ref, r)
		for _, path := range []struct {
			name string
			snap *Snapshot
			expl bool
		}{{"indexed", fast, false}, {"scan", scan, true}} {
			r.Explain = path.expl
			res, err := path.snap.Place(r)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int, len(res.Placements))
			for k, p := range res.Placements {
				got[k] = p.Instance
			}
			if !slices.Equal(got, want) || len(res.Failures) != r.Count-len(want) {
				t.Fatalf("%d instances, request %d (%+v) %s: placed on %v, %d failures; reference %v",
					len(cluster), seq, r, path.name, got, len(res.Failures), want)
			}
		}
	}
	for i := range ref {
		if a, b := fast.instances[i], ref[i]; a.Remaining != b.Remaining || a.RunningTasksCount != b.RunningTasksCount {
			t.Fatalf("instance %d ends %+v, reference %+v", i, a, b)
		}
	}
}

// TestSortedIndexStaysSorted moves keys at random and checks order and content.
func TestSortedIndexStaysSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	instances := make([]Instance, 200)
	members := make([]int32, len(instances))
	for i := range instances {
		instances[i].Remaining.Memory = rng.Int64N(50)
		members[i] = int32(i)
	}
	x := newSortedIndex(instances, members, byMemory)
	for range 5000 {
		i := rng.IntN(len(instances))
		old := instances[i].Remaining.Memory
		instances[i].Remaining.Memory = rng.Int64N(50)
		x.move(int32(i), old, instances[i].Remaining.Memory)
		if !slices.IsSorted(x.keys) || len(x.keys) != len(instances) {
			t.Fatal("index out of order")
		}
	}
	for _, k := range x.keys {
		if got, want := keyRemaining(k), instances[keyInstance(k)].Remaining.Memory; got != want {
			t.Fatalf("instance %d indexed at %d, has %d", keyInstance(k), got, want)
		}
	}
}
