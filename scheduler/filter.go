package scheduler

// ECS's failure reasons, and berth's where ECS has none.
const (
	ReasonCPU              = "RESOURCE:CPU"
	ReasonMemory           = "RESOURCE:MEMORY"
	ReasonGPU              = "RESOURCE:GPU"
	ReasonPorts            = "RESOURCE:PORTS"
	ReasonMemberOf         = "MemberOf placement constraint unsatisfied"
	ReasonDistinctInstance = "DistinctInstance placement constraint unsatisfied"
	// ReasonAgent: the instance's agent is disconnected.
	ReasonAgent = "AGENT"
	// ReasonStatus (berth's): the instance is not ACTIVE (DRAINING, INACTIVE, ...).
	ReasonStatus = "STATUS"
	// ReasonNoInstances (berth's): the cluster has no container instances at all.
	ReasonNoInstances = "NO_CONTAINER_INSTANCES"
)

// filterKind is one check an instance must pass to take a task.
type filterKind uint8

const (
	filterStatus filterKind = iota
	filterAgent
	filterCPU
	filterMemory
	filterGPU
	filterPorts
	filterDistinctInstance
	filterMemberOf
)

// filterStep is one filter of a request's pipeline.
type filterStep struct {
	kind       filterKind
	constraint Constraint // for distinctInstance and memberOf
	expr       *Expression
}

// name is what explanations call the step: "CPU", "memberOf(attribute:x exists)".
func (f *filterStep) name() string {
	switch f.kind {
	case filterDistinctInstance, filterMemberOf:
		return f.constraint.String()
	}
	return [...]string{
		filterStatus: "STATUS", filterAgent: "AGENT", filterCPU: "CPU",
		filterMemory: "MEMORY", filterGPU: "GPU", filterPorts: "PORTS",
	}[f.kind]
}

// reason is the ECS failure reason an instance gets for failing the step.
func (f *filterStep) reason() string {
	return [...]string{
		filterStatus: ReasonStatus, filterAgent: ReasonAgent, filterCPU: ReasonCPU,
		filterMemory: ReasonMemory, filterGPU: ReasonGPU, filterPorts: ReasonPorts,
		filterDistinctInstance: ReasonDistinctInstance, filterMemberOf: ReasonMemberOf,
	}[f.kind]
}

// maxFilters is the longest pipeline: six built-in filters and the constraints.
const maxFilters = 6 + MaxConstraints

// compileFilters builds the request's pipeline into buf: status and agent, then
// resources, then the constraints in the request's order. Checks that cannot fail for
// this request (no GPU, no ports) are left out.
func compileFilters(buf *[maxFilters]filterStep, r *Request) ([]filterStep, error) {
	steps := append(buf[:0],
		filterStep{kind: filterStatus}, filterStep{kind: filterAgent},
		filterStep{kind: filterCPU}, filterStep{kind: filterMemory})
	if r.Resources.GPU > 0 {
		steps = append(steps, filterStep{kind: filterGPU})
	}
	if len(r.Ports) > 0 {
		steps = append(steps, filterStep{kind: filterPorts})
	}
	err := compileConstraints(r.Constraints, func(c Constraint, expr *Expression) {
		kind := filterDistinctInstance
		if c.Type == ConstraintMemberOf {
			kind = filterMemberOf
		}
		steps = append(steps, filterStep{kind: kind, constraint: c, expr: expr})
	})
	return steps, err
}

// passes reports whether instance i passes filter f for the request being placed.
func (p *placer) passes(f *filterStep, i int32) bool {
	in := &p.snap.instances[i]
	need := &p.req.Resources
	switch f.kind {
	case filterStatus:
		return in.Status == StatusActive
	case filterAgent:
		return in.AgentConnected
	case filterCPU:
		return in.Remaining.CPU >= need.CPU
	case filterMemory:
		return in.Remaining.Memory >= need.Memory
	case filterGPU:
		return in.Remaining.GPU >= need.GPU
	case filterPorts:
		for _, port := range p.req.Ports {
			if in.usesPort(port) {
				return false
			}
		}
		return true
	case filterDistinctInstance:
		return p.group.perInstance[i] == 0
	}
	return f.expr.Match(in)
}

// baseFilters is how many filters every pipeline starts with: status, agent, CPU and
// memory, which feasible checks inline.
const baseFilters = 4

// feasible reports whether instance i passes every filter. It is the hot loop of
// placement, so the four base filters are checked inline, cheapest first.
func (p *placer) feasible(i int32) bool {
	in, need := &p.snap.instances[i], &p.req.Resources
	if in.Remaining.CPU < need.CPU || in.Remaining.Memory < need.Memory || !in.AgentConnected || in.Status != StatusActive {
		return false
	}
	for k := baseFilters; k < len(p.filters); k++ {
		if !p.passes(&p.filters[k], i) {
			return false
		}
	}
	return true
}
