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
// binpack(resources) walks both indexes (scanBoth).
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
	if p.spreadSpreadFits() {
		i, ok := p.chooseSpread()
		return i, ok, true
	}
	lead := &p.steps[0]
	p.ties, p.best = p.ties[:0], math.MaxInt64
	if _, ok := lead.sortedResource(); ok {
		p.scanStep(lead, p.snap.sortedBy)
		i, ok := p.settle(p.steps[1:])
		return i, ok, true
	}
	if lead.kind != rankSpreadAttribute || len(p.steps) < 2 {
		return -1, false, false
	}
	next := &p.steps[1]
	if _, ok := next.sortedResource(); !ok {
		return -1, false, false
	}
	values := p.spreadOrder(lead)
	for start, end := 0, 0; start < len(values) && len(p.ties) == 0; start = end {
		// values[start:end] is one level: values spread ranks as equally good.
		for end = start; end < len(values) && lead.counts[values[end]] == lead.counts[values[start]]; end++ {
			v := values[end]
			p.scanStep(next, func(kind resourceKind) *sortedIndex { return p.snap.sortedWithin(lead.attr, kind, v) })
		}
	}
	i, ok = p.settle(p.steps[2:])
	return i, ok, true
}

// scanStep adds to p.ties the best instances under st of the indexes index gives.
func (p *placer) scanStep(st *rankStep, index func(resourceKind) *sortedIndex) {
	if st.kind == rankBinpackResources {
		p.scanBoth(index(byMemory), index(byCPU), st)
		return
	}
	kind, _ := st.sortedResource()
	p.scan(index(kind), st, kind)
}

// scan walks x up from the least remaining amount that fits the task, until the bound
// passes the best score found.
func (p *placer) scan(x *sortedIndex, st *rankStep, kind resourceKind) {
	for _, k := range x.keys[x.from(kind.of(p.req.Resources)):] {
		if p.bound(st, keyRemaining(k)) > p.best {
			return
		}
		p.offer(keyInstance(k), st)
	}
}

// scanBoth is scan for binpack(resources), whose score is at least its memory term plus
// its CPU term. It walks the memory and the CPU index in turn (Fagin's threshold
// algorithm) and stops when an instance seen in neither walk, having at least as much of
// both as the walks have reached, could not score better than the best. A feasible
// instance is in both walks' range, so when either ends every candidate has been seen.
func (p *placer) scanBoth(byMem, byCPU *sortedIndex, st *rankStep) {
	p.nextEpoch()
	mem := byMem.keys[byMem.from(p.req.Resources.Memory):]
	cpu := byCPU.keys[byCPU.from(p.req.Resources.CPU):]
	for len(mem) > 0 && len(cpu) > 0 {
		if p.memoryTerm(keyRemaining(mem[0]))+p.cpuTerm(keyRemaining(cpu[0])) > p.best {
			return
		}
		for _, k := range [2]uint64{mem[0], cpu[0]} {
			if i := keyInstance(k); p.seen[i] != p.epoch {
				p.seen[i] = p.epoch
				p.offer(i, st)
			}
		}
		mem, cpu = mem[1:], cpu[1:]
	}
}

// nextEpoch starts a new scanBoth: an instance counts as seen when its mark equals the
// epoch, so nothing needs clearing between scans.
func (p *placer) nextEpoch() {
	if len(p.seen) != len(p.snap.instances) {
		p.seen, p.epoch = make([]uint32, len(p.snap.instances)), 0
	}
	if p.epoch++; p.epoch == 0 { // wrapped: old marks could match again
		clear(p.seen)
		p.epoch = 1
	}
}

// offer adds instance i to p.ties if it is feasible and scores at least as well as the
// best so far.
func (p *placer) offer(i int32, st *rankStep) {
	if !p.feasible(i) {
		return
	}
	s := p.score(st, i)
	if s < p.best {
		p.best, p.ties = s, p.ties[:0]
	}
	if s == p.best {
		p.ties = append(p.ties, i)
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
