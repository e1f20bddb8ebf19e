package main

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/berth/berth/scheduler"
)

// report is the JSON the benchmark prints.
type report struct {
	Instances int    `json:"instances"`
	Tasks     int    `json:"tasks"`
	Workload  string `json:"workload"`
	Strategy  string `json:"strategy"`
	Seeds     int    `json:"seeds"`
	speed
	packing
	Baseline *packing `json:"baseline,omitempty"`
}

// speed is how fast Place went.
type speed struct {
	PlacementsPerSec   float64 `json:"placements_per_sec"`
	P99PlaceMicros     float64 `json:"p99_place_us"`
	AllocsPerPlacement float64 `json:"allocs_per_placement"`
}

// packing is how well the strategy packed the tasks.
type packing struct {
	Strategy       string  `json:"strategy,omitempty"`
	Placed         float64 `json:"placed"`
	Failed         float64 `json:"failed"`
	InstancesUsed  float64 `json:"instances_used"`
	LowerBound     float64 `json:"lower_bound"`
	Quality        float64 `json:"quality"`
	StrandedCPUPct float64 `json:"stranded_cpu_pct"`
	StrandedMemPct float64 `json:"stranded_mem_pct"`
}

// result is one seed's numbers.
type result struct {
	speed
	packing
}

// add folds one seed's result into the means.
func (r *report) add(x result, n int) {
	f := 1 / float64(n)
	r.PlacementsPerSec += x.PlacementsPerSec * f
	r.P99PlaceMicros += x.P99PlaceMicros * f
	r.AllocsPerPlacement += x.AllocsPerPlacement * f
	r.packing.add(x.packing, n)
}

func (p *packing) add(x packing, n int) {
	f := 1 / float64(n)
	p.Placed += x.Placed * f
	p.Failed += x.Failed * f
	p.InstancesUsed += x.InstancesUsed * f
	p.LowerBound += x.LowerBound * f
	p.Quality += x.Quality * f
	p.StrandedCPUPct += x.StrandedCPUPct * f
	p.StrandedMemPct += x.StrandedMemPct * f
}

// cluster registers c.instances empty, identical instances, round-robin over the zones.
func cluster(c config) []scheduler.Instance {
	reg := scheduler.Resources{CPU: c.instanceCPU, Memory: c.instanceMemory}
	out := make([]scheduler.Instance, c.instances)
	for i := range out {
		out[i] = scheduler.Instance{
			ARN:    fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:container-instance/bench/%06d", i),
			Status: scheduler.StatusActive, AgentConnected: true, Registered: reg, Remaining: reg,
			Attributes: map[string]string{
				scheduler.AttributeAvailabilityZone: fmt.Sprintf("us-east-1%c", 'a'+i%c.zones),
				scheduler.AttributeInstanceType:     "m5.4xlarge",
			},
		}
	}
	return out
}

// measure places the tasks one request each and measures speed and packing.
func measure(c config, tasks []scheduler.Resources) result {
	snap := scheduler.NewSnapshot(cluster(c))
	latencies := make([]time.Duration, 0, len(tasks))
	req := scheduler.Request{Group: "service:bench", Count: 1, Strategies: c.strategies}
	var placed int
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for k, need := range tasks {
		req.Resources, req.Seed = need, c.seed<<32|uint64(k)
		t0 := time.Now()
		res, err := snap.Place(req)
		latencies = append(latencies, time.Since(t0))
		if err != nil {
			panic(err) // the strategies were validated
		}
		placed += len(res.Placements)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	slices.Sort(latencies)
	return result{
		speed: speed{
			PlacementsPerSec:   float64(len(tasks)) / elapsed.Seconds(),
			P99PlaceMicros:     float64(latencies[len(latencies)*99/100].Nanoseconds()) / 1e3,
			AllocsPerPlacement: float64(after.Mallocs-before.Mallocs) / float64(len(tasks)),
		},
		packing: measurePacking(c, snap, tasks, placed),
	}
}

// measurePacking compares the instances used with the lower bound: no packing can use
// fewer than max over CPU and memory of ceil(total demand / instance capacity).
func measurePacking(c config, snap *scheduler.Snapshot, tasks []scheduler.Resources, placed int) packing {
	var demand scheduler.Resources
	for _, t := range tasks {
		demand = demand.Add(t)
	}
	lower := max(ceilDiv(demand.CPU, c.instanceCPU), ceilDiv(demand.Memory, c.instanceMemory))
	var used int
	var left, registered scheduler.Resources
	for _, in := range snap.Instances() {
		if in.RunningTasksCount > 0 {
			used++
			left, registered = left.Add(in.Remaining), registered.Add(in.Registered)
		}
	}
	return packing{
		Placed: float64(placed), Failed: float64(len(tasks) - placed),
		InstancesUsed: float64(used), LowerBound: float64(lower),
		Quality:        float64(used) / float64(lower),
		StrandedCPUPct: 100 * float64(left.CPU) / float64(max(registered.CPU, 1)),
		StrandedMemPct: 100 * float64(left.Memory) / float64(max(registered.Memory, 1)),
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
