package scheduler

// Snapshot is the scheduler's working copy of a cluster's container instances, with the
// indexes that keep placement fast at tens of thousands of instances: instances sorted
// by remaining CPU and memory (whole cluster and per attribute value), attribute values
// interned, and tasks per group counted per instance and per attribute value. Indexes
// are built on first use and kept up to date as Place takes resources.
//
// A Snapshot is not safe for concurrent use; Place reuses its scratch buffers.
type Snapshot struct {
	instances []Instance
	byARN     map[string]int32 // see arnIndex
	// maxRegistered normalizes the multi-resource fit (rank.go), which also steers by
	// the cluster's registered and used totals.
	maxRegistered    Resources
	registered, used Resources

	sorted [numSortedResources]*sortedIndex
	attrs  map[string]*attrIndex
	// attrList holds attrs in creation order, for deterministic upkeep.
	attrList []*attrIndex
	groups   map[string]*groupIndex

	placer placer
}

// attrIndex interns one attribute's values: every instance gets a value id; instances
// without the attribute share an id of their own, since ECS treats missing as a value.
type attrIndex struct {
	name    string
	valueOf []int32
	values  []string
	members [][]int32 // value id -> instance indexes, ascending
	// sorted[kind][value id] orders a value's instances by a remaining resource.
	sorted [numSortedResources][]*sortedIndex
}

// groupIndex counts one task group's tasks per instance and per attribute value.
type groupIndex struct {
	perInstance []int32
	perValue    []valueCounts
}

// valueCounts counts a group's tasks per value of one attribute.
type valueCounts struct {
	attr   *attrIndex
	counts []int32
}

// NewSnapshot copies the instances; Place never changes the caller's values. Instance
// indexes in placements refer to this slice's order, which is also the final tie-break,
// so callers should pass instances in a stable order (by ARN, say).
func NewSnapshot(instances []Instance) *Snapshot {
	s := &Snapshot{
		instances: make([]Instance, len(instances)),
		attrs:     map[string]*attrIndex{},
		groups:    map[string]*groupIndex{},
	}
	for i := range instances {
		s.instances[i] = instances[i]
		s.instances[i].owned = false
		r := instances[i].Registered
		s.registered = s.registered.Add(r)
		s.used = s.used.Add(r.Sub(instances[i].Remaining))
		s.maxRegistered = Resources{
			CPU:    max(s.maxRegistered.CPU, r.CPU, 1),
			Memory: max(s.maxRegistered.Memory, r.Memory, 1),
			GPU:    max(s.maxRegistered.GPU, r.GPU, 1),
		}
	}
	return s
}

// Instances returns the snapshot's instances as placement has left them. The slice is
// the snapshot's own: read it, do not change it.
func (s *Snapshot) Instances() []Instance { return s.instances }

// IndexOf returns the index in Instances of the instance with the ARN, and whether
// there is one.
func (s *Snapshot) IndexOf(arn string) (int, bool) {
	i, ok := s.arnIndex()[arn]
	return int(i), ok
}

// arnIndex maps ARNs to indexes, built on first use: placement does not need it.
func (s *Snapshot) arnIndex() map[string]int32 {
	if s.byARN == nil {
		s.byARN = make(map[string]int32, len(s.instances))
		for i := range s.instances {
			s.byARN[s.instances[i].ARN] = int32(i)
		}
	}
	return s.byARN
}

// take gives instance i one task of the request and keeps every built index current.
func (s *Snapshot) take(i int32, r *Request) {
	in := &s.instances[i]
	in.own()
	old := in.Remaining
	in.Remaining = old.Sub(r.Resources)
	s.used = s.used.Add(r.Resources)
	in.UsedPorts = append(in.UsedPorts, r.Ports...)
	in.RunningTasksCount++
	in.TasksByGroup[r.Group]++
	for kind := range numSortedResources {
		s.reindex(i, kind, kind.of(old), kind.of(in.Remaining))
	}
	if g := s.groups[r.Group]; g != nil {
		g.perInstance[i]++
		for _, vc := range g.perValue {
			vc.counts[vc.attr.valueOf[i]]++
		}
	}
}

// reindex moves instance i in every built index of kind.
func (s *Snapshot) reindex(i int32, kind resourceKind, old, rem int64) {
	if old == rem {
		return
	}
	if x := s.sorted[kind]; x != nil {
		x.move(i, old, rem)
	}
	for _, a := range s.attrList {
		if x := a.sorted[kind]; x != nil {
			x[a.valueOf[i]].move(i, old, rem)
		}
	}
}

// sortedBy returns the whole cluster's index by kind, building it on first use.
func (s *Snapshot) sortedBy(kind resourceKind) *sortedIndex {
	if s.sorted[kind] == nil {
		all := make([]int32, len(s.instances))
		for i := range all {
			all[i] = int32(i)
		}
		s.sorted[kind] = newSortedIndex(s.instances, all, kind)
	}
	return s.sorted[kind]
}

// attribute returns the interned index of an attribute, building it on first use.
func (s *Snapshot) attribute(name string) *attrIndex {
	if a := s.attrs[name]; a != nil {
		return a
	}
	a := &attrIndex{name: name, valueOf: make([]int32, len(s.instances))}
	ids := map[string]int32{}
	const missing = "\x00missing" // cannot collide: attribute values are printable
	for i := range s.instances {
		v, ok := s.instances[i].Attributes[name]
		if !ok {
			v = missing
		}
		id, seen := ids[v]
		if !seen {
			id = int32(len(a.values))
			ids[v] = id
			a.values = append(a.values, v)
			a.members = append(a.members, nil)
		}
		a.valueOf[i] = id
		a.members[id] = append(a.members[id], int32(i))
	}
	s.attrs[name] = a
	s.attrList = append(s.attrList, a)
	return a
}

// sortedWithin returns value id v's instances of the attribute ordered by kind.
func (s *Snapshot) sortedWithin(a *attrIndex, kind resourceKind, v int32) *sortedIndex {
	if a.sorted[kind] == nil {
		a.sorted[kind] = make([]*sortedIndex, len(a.values))
		for id, members := range a.members {
			a.sorted[kind][id] = newSortedIndex(s.instances, members, kind)
		}
	}
	return a.sorted[kind][v]
}

// group returns a task group's counts, building them from TasksByGroup on first use.
func (s *Snapshot) group(name string) *groupIndex {
	if g := s.groups[name]; g != nil {
		return g
	}
	g := &groupIndex{perInstance: make([]int32, len(s.instances))}
	for i := range s.instances {
		g.perInstance[i] = int32(s.instances[i].TasksByGroup[name])
	}
	s.groups[name] = g
	return g
}

// countsPerValue returns the group's task counts per value of the attribute.
func (s *Snapshot) countsPerValue(g *groupIndex, a *attrIndex) []int32 {
	for _, vc := range g.perValue {
		if vc.attr == a {
			return vc.counts
		}
	}
	counts := make([]int32, len(a.values))
	for i, n := range g.perInstance {
		counts[a.valueOf[i]] += n
	}
	g.perValue = append(g.perValue, valueCounts{attr: a, counts: counts})
	return counts
}
