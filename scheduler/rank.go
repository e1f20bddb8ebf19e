package scheduler

import (
	"math"
	"strings"
)

// rankKind is what a rank step orders instances by. Every step gives each candidate a
// score, lower ranking first; a placement is the candidate with the smallest scores,
// compared strategy by strategy, then the smallest snapshot index.
type rankKind uint8

const (
	rankBinpackCPU       rankKind = iota // remaining CPU
	rankBinpackMemory                    // remaining memory
	rankBinpackResources                 // berth's multi-resource fit, see fitScore
	rankSpreadInstance                   // tasks of the group on the instance
	rankSpreadAttribute                  // tasks of the group on the instance's attribute value
	rankRandom                           // a seeded draw per task and instance
)

// rankStep is one compiled strategy.
type rankStep struct {
	strategy Strategy
	kind     rankKind
	attr     *attrIndex
	// counts are the group's tasks per attribute value, for rankSpreadAttribute.
	counts []int32
}

// compileStrategies validates the request's strategies and compiles them into buf.
func (p *placer) compileStrategies(buf *[MaxStrategies]rankStep) ([]rankStep, error) {
	if err := ValidateStrategies(p.req.Strategies); err != nil {
		return nil, err
	}
	steps := buf[:0]
	for _, s := range p.req.Strategies {
		st := rankStep{strategy: s, kind: rankKindOf(s)}
		if st.kind == rankSpreadAttribute {
			st.attr = p.snap.attribute(strings.TrimPrefix(s.Field, AttributePrefix))
			st.counts = p.snap.countsPerValue(p.group, st.attr)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// rankKindOf maps a valid strategy to what it ranks by.
func rankKindOf(s Strategy) rankKind {
	switch {
	case s.Type == StrategyRandom:
		return rankRandom
	case s.Type == StrategyBinpack && strings.EqualFold(s.Field, FieldCPU):
		return rankBinpackCPU
	case s.Type == StrategyBinpack && strings.EqualFold(s.Field, FieldMemory):
		return rankBinpackMemory
	case s.Type == StrategyBinpack:
		return rankBinpackResources
	case s.Field == FieldInstanceID || s.Field == FieldHost:
		return rankSpreadInstance
	}
	return rankSpreadAttribute
}

// score is instance i's score under step st; lower ranks first.
func (p *placer) score(st *rankStep, i int32) int64 {
	in := &p.snap.instances[i]
	switch st.kind {
	case rankBinpackCPU:
		return in.Remaining.CPU
	case rankBinpackMemory:
		return in.Remaining.Memory
	case rankBinpackResources:
		return p.fitScore(in)
	case rankSpreadInstance:
		return int64(p.group.perInstance[i])
	case rankSpreadAttribute:
		return int64(st.counts[st.attr.valueOf[i]])
	}
	return int64(mix64(p.salt^uint64(i)) >> 1)
}

// fitScale turns the fit measure into an integer score: billionths.
const fitScale = 1e9

// balanceWeight weighs fitScore's balance term against its fullness terms; 6 packed best
// over bench/scheduler's workloads (see the README note in bench/scheduler).
const balanceWeight = 6

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
//     the squared distance of its utilization vector from the cluster's direction. An
//     instance whose use is lopsided ends with one resource full and the other stranded;
//     steering each toward the cluster's mix pairs CPU-heavy with memory-heavy tasks (the
//     alignment idea of Tetris, Grandl et al., and Kubernetes' balanced allocation).
//
// ECS's binpack(memory) ignores CPU, so it strands it. The memory term is a lower bound
// of the score that grows with remaining memory, which lets the fast path scan the
// memory index and stop early (memoryTerm).
func (p *placer) fitScore(in *Instance) int64 {
	need, w := p.req.Resources, &p.fit
	leftCPU := float64(in.Remaining.CPU - need.CPU)
	a := leftCPU / float64(p.snap.maxRegistered.CPU)
	useCPU := 1 - leftCPU/float64(max(in.Registered.CPU, 1))
	useMemory := 1 - float64(in.Remaining.Memory-need.Memory)/float64(max(in.Registered.Memory, 1))
	off := useCPU*w.dirMemory - useMemory*w.dirCPU
	return p.memoryTerm(in.Remaining.Memory) + int64(math.Round((w.cpu*a*a+balanceWeight*off*off)*fitScale))
}

// memoryTerm is fitScore's memory fullness term for an instance with rem memory left,
// and so a lower bound of its score.
func (p *placer) memoryTerm(rem int64) int64 {
	b := float64(rem-p.req.Resources.Memory) / float64(p.snap.maxRegistered.Memory)
	return int64(math.Round(p.fit.memory * b * b * fitScale))
}

// mix64 is SplitMix64's finalizer: a well-mixed 64-bit hash, so each (task, instance)
// pair gets an independent draw whatever order instances are looked at in.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
