package hollow

import (
	"fmt"
)

// portAllocator hands out host ports per protocol, as Docker's port mapper does:
// dynamic ones round-robin from an ephemeral range, fixed ones if free.
type portAllocator struct {
	lo, hi int
	next   map[string]int          // protocol -> next dynamic port to try
	used   map[string]map[int]bool // protocol -> bound ports
}

func newPortAllocator(lo, hi int) *portAllocator {
	return &portAllocator{lo: lo, hi: hi, next: map[string]int{}, used: map[string]map[int]bool{}}
}

// bind binds port (0: a dynamic one) for proto and returns it.
func (p *portAllocator) bind(proto string, port int) (int, error) {
	used := p.used[proto]
	if used == nil {
		used = map[int]bool{}
		p.used[proto] = used
	}
	if port != 0 {
		if used[port] {
			return 0, fmt.Errorf("bind 0.0.0.0:%d/%s: port is already allocated", port, proto)
		}
		used[port] = true
		return port, nil
	}
	start := max(p.next[proto], p.lo)
	for i := 0; i <= p.hi-p.lo; i++ {
		cand := p.lo + (start-p.lo+i)%(p.hi-p.lo+1)
		if !used[cand] {
			used[cand] = true
			p.next[proto] = cand + 1
			return cand, nil
		}
	}
	return 0, fmt.Errorf("no free %s port in %d-%d", proto, p.lo, p.hi)
}

// release frees port for proto.
func (p *portAllocator) release(proto string, port int) {
	delete(p.used[proto], port)
}
