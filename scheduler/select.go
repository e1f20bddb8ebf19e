package scheduler

import "slices"

// tieBreak is how Place settles a tie left after the last strategy.
const tieBreak = "first in snapshot order"

// choose picks the instance for the current task, through an index when one fits the
// strategies and no explanation is wanted, else by the reference scan. Both give the
// same answer; TestIndexedMatchesReference checks it.
func (p *placer) choose() (int32, bool) {
	if p.explain == nil {
		if i, ok, handled := p.chooseIndexed(); handled {
			return i, ok
		}
	}
	return p.chooseLinear()
}

// chooseLinear is the definition of placement: filter every instance, then rank.
func (p *placer) chooseLinear() (int32, bool) {
	cands := p.cands[:0]
	for i := range int32(len(p.snap.instances)) {
		if p.feasible(i) {
			cands = append(cands, i)
		}
	}
	p.cands = cands
	if len(cands) == 0 {
		return -1, false
	}
	if p.explain != nil {
		p.explain.Candidates = len(cands)
	}
	return p.rankWithin(cands, p.steps), true
}

// rankWithin applies the steps in order, each keeping the candidates tied for its best
// score, and returns the first remaining candidate in snapshot order. It reorders cands.
func (p *placer) rankWithin(cands []int32, steps []rankStep) int32 {
	for k := range steps {
		if len(cands) == 1 && p.explain == nil {
			break
		}
		st := &steps[k]
		best, n := int64(0), 0
		for _, i := range cands {
			s := p.score(st, i)
			if n == 0 || s < best {
				best, n = s, 0
			}
			if s == best {
				cands[n] = i
				n++
			}
		}
		p.record(st, len(cands), n, best)
		cands = cands[:n]
	}
	if p.explain != nil && len(cands) > 1 {
		p.explain.TieBreak = tieBreak
	}
	return slices.Min(cands)
}
