package elbv2

// Weighted is a target group of a forward action with its weight.
type Weighted struct {
	Key    string
	Weight int
}

// PickWeighted picks a target group for the n-th request (n counts from 0):
// a smooth spread in proportion to the weights, the same n the same group.
// It returns -1 when every weight is 0.
func PickWeighted(groups []Weighted, n uint64) int {
	total := 0
	for _, g := range groups {
		total += g.Weight
	}
	if total == 0 {
		return -1
	}
	slot := int(n % uint64(total))
	for i, g := range groups {
		if slot < g.Weight {
			return i
		}
		slot -= g.Weight
	}
	return -1
}

// Candidate is a target the balancer may choose.
type Candidate struct {
	// Routable: registered (not draining) and healthy, or the group fails open.
	Healthy bool
	// Draining targets take no new requests.
	Draining bool
	// Outstanding is the number of requests in flight to it.
	Outstanding int
}

// Eligible are the indexes of the targets new requests may go to: the
// healthy ones that are not draining, or, when none is healthy, every one
// that is not draining (ELB fails open).
func Eligible(cs []Candidate) []int {
	var healthy, all []int
	for i, c := range cs {
		if c.Draining {
			continue
		}
		all = append(all, i)
		if c.Healthy {
			healthy = append(healthy, i)
		}
	}
	if len(healthy) > 0 {
		return healthy
	}
	return all
}

// PickRoundRobin picks the next of the eligible targets for the n-th
// request; -1 when there is none.
func PickRoundRobin(cs []Candidate, n uint64) int {
	el := Eligible(cs)
	if len(el) == 0 {
		return -1
	}
	return el[n%uint64(len(el))]
}

// PickLeastOutstanding picks the eligible target with the fewest requests in
// flight, ties broken round robin from n; -1 when there is none.
func PickLeastOutstanding(cs []Candidate, n uint64) int {
	el := Eligible(cs)
	if len(el) == 0 {
		return -1
	}
	best := -1
	for k := range el {
		i := el[(uint64(k)+n)%uint64(len(el))]
		if best < 0 || cs[i].Outstanding < cs[best].Outstanding {
			best = i
		}
	}
	return best
}
