package scheduler

import "strings"

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

// mix64 is SplitMix64's finalizer: a well-mixed 64-bit hash, so each (task, instance)
// pair gets an independent draw whatever order instances are looked at in.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
