package scheduler

import "fmt"

// record adds a rank step to the current task's explanation, when one is wanted.
func (p *placer) record(st *rankStep, candidates, best int, score int64) {
	if p.explain == nil {
		return
	}
	p.explain.Steps = append(p.explain.Steps, RankStep{
		Strategy: st.strategy.String(), Candidates: candidates, Best: best, Score: score,
	})
}

// failures explains why task t cannot be placed and fails it and the rest of the
// request with that explanation.
func (p *placer) failures(t int) []Failure {
	f := p.diagnose()
	var out []Failure
	for ; t < p.req.Count; t++ {
		f.Task = t
		out = append(out, f)
	}
	return out
}

// diagnose looks at every instance: which filter ruled it out first, and how close it
// came. The closest instance is the one that missed the fewest requirements, preferring
// instances that are ACTIVE with a connected agent, then the smallest resource shortfall.
func (p *placer) diagnose() Failure {
	n := int32(len(p.snap.instances))
	if n == 0 {
		return Failure{Reason: ReasonNoInstances, Detail: "no container instances were found in the cluster."}
	}
	ruledOut := make([]int, len(p.filters))
	closest, closestMissed, closestShort := int32(-1), 0, 0.0
	for i := range n {
		missed, first := p.misses(i)
		if first >= 0 {
			ruledOut[first]++
		}
		short := p.shortfallFraction(i)
		if closest < 0 || missed < closestMissed || (missed == closestMissed && short < closestShort) {
			closest, closestMissed, closestShort = i, missed, short
		}
	}
	f := Failure{Closest: p.closest(closest)}
	for k := range p.filters {
		f.Filtered = append(f.Filtered, FilterCount{Filter: p.filters[k].name(), RuledOut: ruledOut[k]})
	}
	if len(f.Closest.Lacks) > 0 {
		f.Reason = f.Closest.Lacks[0]
	}
	f.Detail = fmt.Sprintf("no container instance met all of its requirements. The closest matching (container-instance %s) %s.",
		f.Closest.ARN, p.lackPhrase(closest, f.Reason))
	return f
}

// misses counts the filters instance i fails, an unavailable instance (not ACTIVE, or
// its agent disconnected) counting as failing them all, and returns the first it fails
// (-1 for none).
func (p *placer) misses(i int32) (missed, first int) {
	first = -1
	for k := range p.filters {
		if p.passes(&p.filters[k], i) {
			continue
		}
		if first < 0 {
			first = k
		}
		missed++
		if kind := p.filters[k].kind; kind == filterStatus || kind == filterAgent {
			missed += len(p.filters)
		}
	}
	return missed, first
}

// closest describes instance i: the requirements it misses and its shortfall.
func (p *placer) closest(i int32) *ClosestInstance {
	in := &p.snap.instances[i]
	c := &ClosestInstance{ARN: in.ARN, Shortfall: p.shortfall(i)}
	for k := range p.filters {
		if !p.passes(&p.filters[k], i) {
			c.Lacks = append(c.Lacks, p.filters[k].reason())
		}
	}
	return c
}

// shortfall is how much more of each resource instance i would need.
func (p *placer) shortfall(i int32) Resources {
	d := p.req.Resources.Sub(p.snap.instances[i].Remaining)
	return Resources{CPU: max(d.CPU, 0), Memory: max(d.Memory, 0), GPU: max(d.GPU, 0)}
}

// shortfallFraction weighs the shortfall by the largest instance's capacity.
func (p *placer) shortfallFraction(i int32) float64 {
	d, c := p.shortfall(i), p.snap.maxRegistered
	return float64(d.CPU)/float64(c.CPU) + float64(d.Memory)/float64(c.Memory) + float64(d.GPU)/float64(c.GPU)
}

// lackPhrase says what the closest instance lacks, in the words of ECS's service events.
func (p *placer) lackPhrase(i int32, reason string) string {
	switch reason {
	case ReasonCPU:
		return "has insufficient CPU units available"
	case ReasonMemory:
		return "has insufficient memory available"
	case ReasonGPU:
		return "has insufficient GPU available"
	case ReasonPorts:
		return "is already using a port required by your task"
	case ReasonMemberOf:
		return "does not satisfy a memberOf placement constraint"
	case ReasonDistinctInstance:
		return "already runs a task of group " + p.req.Group + " (distinctInstance)"
	case ReasonAgent:
		return "has a disconnected agent"
	}
	return "is " + p.snap.instances[i].Status + ", not ACTIVE"
}
