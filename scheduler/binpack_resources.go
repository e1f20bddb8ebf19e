package scheduler

import "math"

// fitScale turns the fit measure into an integer score: billionths.
const fitScale = 1e9

// balanceWeight weighs fitScore's balance term against its fullness terms. 20 packed
// best over bench/scheduler's four workloads, 20 seeds each; 12 to 28 are all close.
const balanceWeight = 20

// fitWeights are what binpack(resources) steers toward for the current task: how scarce
// each resource is cluster-wide, and the direction of the cluster's use.
type fitWeights struct {
	cpu, memory       float64 // fullness weights: 1 for the scarcer resource, less for the other
	dirCPU, dirMemory float64 // unit vector of the cluster's CPU and memory use
}

// fitWeightsFor computes the weights from the cluster's use with the task included.
func (s *Snapshot) fitWeightsFor(need Resources) fitWeights {
	gc := float64(s.used.CPU+need.CPU) / float64(max(s.registered.CPU, 1))
	gm := float64(s.used.Memory+need.Memory) / float64(max(s.registered.Memory, 1))
	top, n := max(gc, gm), math.Hypot(gc, gm)
	if top <= 0 {
		return fitWeights{cpu: 1, memory: 1, dirCPU: math.Sqrt2 / 2, dirMemory: math.Sqrt2 / 2}
	}
	return fitWeights{cpu: gc / top, memory: gm / top, dirCPU: gc / n, dirMemory: gm / n}
}

// fitScore is berth's multi-resource binpack, lower is better. It adds two things:
//
//   - fullness: the squared CPU and memory the instance would have left, as fractions of
//     the largest instance, each weighted by how scarce that resource is cluster-wide.
//     Alone this is best fit by the L2 norm of the residual (Panigrahy et al.,
//     "Heuristics for Vector Bin Packing"), leaning toward the resource that runs out.
//   - balance: how far the instance's CPU:memory use would stray from the cluster's, as
//     the squared distance of its utilization vector from the cluster's direction, times
//     its fuller resource's utilization squared. An instance whose use is lopsided when
//     it fills up ends with one resource full and the other stranded; steering it toward
//     the cluster's mix pairs CPU-heavy with memory-heavy tasks (the alignment idea of
//     Tetris, Grandl et al., and Kubernetes' balanced allocation). Scaling by fullness
//     leaves a nearly empty instance free to take anything: its mix can still change.
//
// ECS's binpack(memory) ignores CPU, so it strands it. The score is at least its memory
// term plus its CPU term, each growing with the resource left, which lets the fast path
// walk the memory and CPU indexes and stop early (memoryTerm, cpuTerm, scanBoth).
func (p *placer) fitScore(in *Instance) int64 {
	need, w := p.req.Resources, &p.fit
	leftCPU := float64(in.Remaining.CPU - need.CPU)
	a := leftCPU / float64(p.snap.maxRegistered.CPU)
	useCPU := 1 - leftCPU/float64(max(in.Registered.CPU, 1))
	useMemory := 1 - float64(in.Remaining.Memory-need.Memory)/float64(max(in.Registered.Memory, 1))
	off, full := useCPU*w.dirMemory-useMemory*w.dirCPU, max(useCPU, useMemory)
	return p.memoryTerm(in.Remaining.Memory) + int64(math.Round((w.cpu*a*a+balanceWeight*off*off*full*full)*fitScale))
}

// cpuTerm is a lower bound of the part of fitScore after the memory term, for an
// instance with rem CPU left: the CPU fullness term alone, computed the same way.
func (p *placer) cpuTerm(rem int64) int64 {
	a := float64(rem-p.req.Resources.CPU) / float64(p.snap.maxRegistered.CPU)
	return int64(math.Round(p.fit.cpu * a * a * fitScale))
}

// memoryTerm is fitScore's memory fullness term for an instance with rem memory left,
// and so a lower bound of its score.
func (p *placer) memoryTerm(rem int64) int64 {
	b := float64(rem-p.req.Resources.Memory) / float64(p.snap.maxRegistered.Memory)
	return int64(math.Round(p.fit.memory * b * b * fitScale))
}
