package scheduler

import "math/rand/v2"

// placer holds one Place call's compiled request and the scratch buffers that let
// placements run without allocating. It lives inside the Snapshot and is reused.
type placer struct {
	snap    *Snapshot
	req     Request
	group   *groupIndex
	filters []filterStep
	steps   []rankStep
	rng     rand.PCG
	// salt is this task's random draw; rankRandom hashes it with the instance index.
	salt uint64
	// fit is this task's binpack(resources) weights.
	fit fitWeights
	// explain, when the request asks for it, records the current task's ranking.
	explain *Explanation

	filterBuf [maxFilters]filterStep
	stepBuf   [MaxStrategies]rankStep
	cands     []int32 // chooseLinear's candidates
	ties      []int32 // the index scans' best set so far, scoring best
	best      int64
	values    []int32  // attribute value ids in spread order
	seen      []uint32 // scanBoth's marks: seen[i] == epoch once instance i was offered
	epoch     uint32
	heaps     [][]uint64 // chooseSpread's per-value heaps, nil until the request's first task
	heapBuf   [][]uint64
}

// Place decides where each of the request's tasks runs and takes their resources from
// the snapshot, task by task, so that each task sees the ones placed before it.
//
// Each task goes through the filters (status ACTIVE, agent connected, CPU, memory, GPU,
// static ports, then the constraints), then the strategies in order, each ranking
// within the best set of the one before; a tie left after the last strategy goes to the
// instance first in snapshot order. When a task cannot be placed, it and every task
// after it in the request fail with the same explanation (nothing has changed for them).
// The error is for a malformed request only, and wraps ErrInvalidPlacement.
func (s *Snapshot) Place(r Request) (Result, error) {
	p := &s.placer
	if err := p.start(s, r); err != nil {
		return Result{}, err
	}
	res := Result{Placements: make([]Placement, 0, min(r.Count, len(s.instances)))}
	for t := range r.Count {
		p.salt = p.rng.Uint64()
		p.fit = s.fitWeightsFor(r.Resources)
		p.explain = nil
		if r.Explain {
			p.explain = &Explanation{}
		}
		i, ok := p.choose()
		if !ok {
			res.Failures = p.failures(t)
			break
		}
		res.Placements = append(res.Placements, Placement{
			Task: t, InstanceARN: s.instances[i].ARN, Instance: int(i), Explanation: p.explain,
		})
		s.take(i, &p.req)
		p.spreadTook(i)
	}
	return res, nil
}

// start validates and compiles the request into the placer.
func (p *placer) start(s *Snapshot, r Request) error {
	if r.Count < 0 {
		return invalidf("count must not be negative, got %d", r.Count)
	}
	if n := r.Resources; n.CPU < 0 || n.Memory < 0 || n.GPU < 0 {
		return invalidf("task resources must not be negative, got cpu %d, memory %d, gpu %d", n.CPU, n.Memory, n.GPU)
	}
	p.snap, p.req = s, r
	p.group = s.group(r.Group)
	p.heaps = nil
	p.rng.Seed(r.Seed, 0)
	var err error
	if p.filters, err = compileFilters(&p.filterBuf, &p.req); err != nil {
		return err
	}
	p.steps, err = p.compileStrategies(&p.stepBuf)
	return err
}
