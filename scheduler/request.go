package scheduler

// Request asks for Count tasks of one task group, each needing the same resources.
type Request struct {
	// Group is the task group: "service:NAME" for service tasks, "family:NAME" or the
	// RunTask group for standalone ones. spread and distinctInstance count its tasks.
	Group string
	Count int
	// Resources is what each task reserves (task-level values, else the sum of its
	// containers' memoryReservation or memory, and cpu).
	Resources Resources
	// Ports are each task's static host ports; dynamic ports are left out.
	Ports []Port
	// Strategies rank the instances, in order, each ranking within the best set of the
	// one before (at most MaxStrategies). Empty means: first feasible instance in snapshot
	// order; callers that want ECS's defaults pass DefaultServiceStrategies or
	// DefaultRunTaskStrategies.
	Strategies []Strategy
	// Constraints rule instances out (at most MaxConstraints).
	Constraints []Constraint
	// Seed makes the random strategy reproducible; give each request its own.
	Seed uint64
	// Explain asks for each placement's Explanation. It makes Place scan every instance
	// for every task instead of using its indexes.
	Explain bool
}

// Result is what Place decided: one Placement per placed task and one Failure per task
// it could not place.
type Result struct {
	Placements []Placement
	Failures   []Failure
}

// Placement puts task number Task (0-based within the request) on an instance.
type Placement struct {
	Task        int
	InstanceARN string
	// Instance is the instance's index in the snapshot.
	Instance int
	// Explanation is set when the request asked for it.
	Explanation *Explanation
}

// Explanation says why a task went where it went: how many instances passed the filters,
// then what each strategy made of them.
type Explanation struct {
	Candidates int
	Steps      []RankStep
	// TieBreak says how the last tie was broken, if one was left.
	TieBreak string
}

// RankStep is one strategy's part in a placement.
type RankStep struct {
	Strategy string // as Strategy.String writes it: "binpack(memory)"
	// Candidates is how many instances the step ranked; Best how many tied for best.
	Candidates int
	Best       int
	// Score is the chosen instance's score; lower ranks first. binpack: the resource
	// left before placing (resources: a fit measure, see rank.go); spread: tasks of the
	// group on the instance or attribute value; random: the draw.
	Score int64
}

// Failure is a task Place could not put anywhere, with ECS's reason and the evidence.
type Failure struct {
	Task int
	// Reason is ECS's: RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:GPU, RESOURCE:PORTS,
	// "MemberOf placement constraint unsatisfied", ... (the Reason constants); it is the
	// first requirement the closest instance misses.
	Reason string
	// Detail is a sentence for service events and RunTask failures.
	Detail string
	// Filtered counts, per filter in pipeline order, the instances it ruled out that no
	// earlier filter had.
	Filtered []FilterCount
	// Closest is the instance that missed the fewest requirements, nil without instances.
	Closest *ClosestInstance
}

// FilterCount is how many instances one filter ruled out.
type FilterCount struct {
	Filter   string
	RuledOut int
}

// ClosestInstance is the instance nearest to taking a failed task and what it lacks.
type ClosestInstance struct {
	ARN string
	// Lacks lists the reasons of every requirement it misses, in pipeline order.
	Lacks []string
	// Shortfall is how much more CPU, memory and GPU it would need.
	Shortfall Resources
}
