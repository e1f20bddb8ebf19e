package scheduler

import "slices"

// The fast path for spread(attribute) then spread(instanceId), ECS's default for
// services. Per attribute value, a min-heap orders the value's instances by the group's
// tasks on them, then by snapshot index, which is exactly how the two strategies and the
// final tie-break rank them; a task goes to the best heap top among the values of the
// lowest spread level. A heap entry goes stale when its instance takes a task (a fresh
// entry with the new count is pushed), and an instance that fails a filter is dropped
// for the rest of the request: with no memberOf constraint every filter can only go
// from passing to failing as tasks are placed (resources and ports are used up,
// distinctInstance sees the group's tasks), so it cannot pass again.

// spreadKey orders heap entries: the group's tasks on the instance, then its index.
func spreadKey(count, i int32) uint64 { return uint64(count)<<32 | uint64(uint32(i)) }

// spreadSpreadFits reports whether the request can take the fast path: building the
// heaps costs about one linear scan, so it pays from the second task of a request.
func (p *placer) spreadSpreadFits() bool {
	if p.req.Count < 2 || len(p.steps) != 2 || p.steps[0].kind != rankSpreadAttribute || p.steps[1].kind != rankSpreadInstance {
		return false
	}
	for _, f := range p.filters {
		if f.kind == filterMemberOf {
			return false
		}
	}
	return true
}

// chooseSpread places through the per-value heaps, built at the request's first task.
func (p *placer) chooseSpread() (int32, bool) {
	lead := &p.steps[0]
	if p.heaps == nil {
		p.buildHeaps(lead.attr)
	}
	values := p.spreadOrder(lead)
	for start, end := 0, 0; start < len(values); start = end {
		best, found := uint64(0), false
		for end = start; end < len(values) && lead.counts[values[end]] == lead.counts[values[start]]; end++ {
			if k, ok := p.heapTop(values[end]); ok && (!found || k < best) {
				best, found = k, true
			}
		}
		if found {
			return int32(uint32(best)), true
		}
	}
	return -1, false
}

func (p *placer) buildHeaps(a *attrIndex) {
	p.heaps = p.heapBuf[:0]
	for _, members := range a.members {
		h := make([]uint64, len(members))
		for k, i := range members {
			h[k] = spreadKey(p.group.perInstance[i], i)
		}
		slices.Sort(h) // a sorted slice is a heap
		p.heaps = append(p.heaps, h)
	}
	p.heapBuf = p.heaps
}

// heapTop is value v's best instance that still passes every filter, dropping stale
// and failing entries on the way.
func (p *placer) heapTop(v int32) (uint64, bool) {
	h := &p.heaps[v]
	for len(*h) > 0 {
		k := (*h)[0]
		i := int32(uint32(k))
		if int32(k>>32) == p.group.perInstance[i] && p.feasible(i) {
			return k, true
		}
		heapPop(h)
	}
	return 0, false
}

// spreadTook records that instance i took a task.
func (p *placer) spreadTook(i int32) {
	if p.heaps != nil {
		v := p.steps[0].attr.valueOf[i]
		heapPush(&p.heaps[v], spreadKey(p.group.perInstance[i], i))
	}
}

func heapPush(h *[]uint64, k uint64) {
	*h = append(*h, k)
	s := *h
	for j := len(s) - 1; j > 0; {
		parent := (j - 1) / 2
		if s[parent] <= s[j] {
			break
		}
		s[parent], s[j] = s[j], s[parent]
		j = parent
	}
}

func heapPop(h *[]uint64) {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for j := 0; ; {
		l, small := 2*j+1, j
		if l < n && s[l] < s[small] {
			small = l
		}
		if r := l + 1; r < n && s[r] < s[small] {
			small = r
		}
		if small == j {
			break
		}
		s[j], s[small] = s[small], s[j]
		j = small
	}
	*h = s
}
