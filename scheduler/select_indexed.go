package scheduler

import (
	"math"
	"slices"
)

// The fast paths. Where the first strategies order instances by a remaining resource,
// the sorted indexes find the best set without looking at every instance: binpack scans
// from the smallest remaining amount that could fit and stops as soon as no later
// instance can score better; spread(attribute) then binpack does the same within each
// attribute value, fewest tasks first. The rest of the chain ranks the best set as
// rankWithin always does, so the answer is the reference scan's.

// sortedResource says which index orders candidates for a binpack step, if any.
// Multi-resource binpack scans by memory, whose term bounds its score (memoryTerm).
func (st *rankStep) sortedResource() (resourceKind, bool) {
	switch st.kind {
	case rankBinpackCPU:
		return byCPU, true
	case rankBinpackMemory, rankBinpackResources:
		return byMemory, true
	}
	return 0, false
}

// chooseIndexed places through an index; handled is false when no fast path fits.
func (p *placer) chooseIndexed() (i int32, ok, handled bool) {
	if len(p.steps) == 0 {
		return -1, false, false
	}
	lead := &p.steps[0]
	p.ties, p.best = p.ties[:0], math.MaxInt64
	if kind, ok := lead.sortedResource(); ok {
		p.scan(p.snap.sortedBy(kind), lead, kind)
		i, ok := p.settle(p.steps[1:])
		return i, ok, true
	}
	if lead.kind != rankSpreadAttribute || len(p.steps) < 2 {
		return -1, false, false
	}
	next := &p.steps[1]
	kind, ok := next.sortedResource()
	if !ok {
		return -1, false, false
	}
	values := p.spreadOrder(lead)
	for start, end := 0, 0; start < len(values) && len(p.ties) == 0; start = end {
		// values[start:end] is one level: values spread ranks as equally good.
		for end = start; end < len(values) && lead.counts[values[end]] == lead.counts[values[start]]; end++ {
			p.scan(p.snap.sortedWithin(lead.attr, kind, values[end]), next, kind)
		}
	}
	i, ok = p.settle(p.steps[2:])
	return i, ok, true
}

// scan adds to p.ties the feasible instances of x that score best under st, walking up
// from the least remaining amount that fits the task until the bound passes the best.
func (p *placer) scan(x *sortedIndex, st *rankStep, kind resourceKind) {
	for _, k := range x.keys[x.from(kind.of(p.req.Resources)):] {
		if p.bound(st, keyRemaining(k)) > p.best {
			return
		}
		i := keyInstance(k)
		if !p.feasible(i) {
			continue
		}
		s := p.score(st, i)
		if s < p.best {
			p.best, p.ties = s, p.ties[:0]
		}
		if s == p.best {
			p.ties = append(p.ties, i)
		}
	}
}

// bound is the least score st can give an instance with rem of the index's resource.
func (p *placer) bound(st *rankStep, rem int64) int64 {
	if st.kind == rankBinpackResources {
		return p.memoryTerm(rem)
	}
	return rem
}

// settle ranks the best set the scans found with the remaining steps.
func (p *placer) settle(rest []rankStep) (int32, bool) {
	if len(p.ties) == 0 {
		return -1, false
	}
	return p.rankWithin(p.ties, rest), true
}

// spreadOrder lists the attribute's value ids by the group's task count, fewest first.
func (p *placer) spreadOrder(st *rankStep) []int32 {
	values := p.values[:0]
	for v := range int32(len(st.counts)) {
		values = append(values, v)
	}
	slices.SortFunc(values, func(a, b int32) int { return int(st.counts[a] - st.counts[b]) })
	p.values = values
	return values
}
