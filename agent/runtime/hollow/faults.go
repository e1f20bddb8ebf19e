package hollow

import (
	"sync/atomic"

	"github.com/berth/berth/agent/runtime"
)

// Op names a Runtime operation, for FailNext.
type Op string

// Operations that FailNext can fail.
const (
	OpPull   Op = "pull"
	OpCreate Op = "create"
	OpStart  Op = "start"
	OpStop   Op = "stop"
	OpRemove Op = "remove"
)

// faults are the failures injected for tests; guarded by Runtime.mu.
type faults struct {
	next       map[Op][]error
	unpullable map[string]bool
}

func newFaults() faults {
	return faults{next: map[Op][]error{}, unpullable: map[string]bool{}}
}

// take returns and forgets the next injected failure of op, if any.
func (f *faults) take(op Op) error {
	errs := f.next[op]
	if len(errs) == 0 {
		return nil
	}
	f.next[op] = errs[1:]
	return errs[0]
}

// FailNext makes the next call of op fail with err (a failed pull is wrapped as
// runtime.ErrCannotPull). Calls queue: two FailNext fail the next two calls.
func (r *Runtime) FailNext(op Op, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults.next[op] = append(r.faults.next[op], err)
}

// FailPull takes image out of the simulated registry: pulling it fails from now on.
// A locally present copy stays.
func (r *Runtime) FailPull(image string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults.unpullable[image] = true
}

// OOMKill kills running container id as the kernel's OOM killer would.
func (r *Runtime) OOMKill(id string) error { return r.kill(id, exitSIGKILL, true) }

// Exit makes running container id exit with code, as if its process had.
func (r *Runtime) Exit(id string, code int) error { return r.kill(id, code, false) }

func (r *Runtime) kill(id string, code int, oom bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	r.exit(c, code, oom)
	return nil
}

// SetHealth sets the health of running container id, as if its health check had
// found it so; the next probe may change it again.
func (r *Runtime) SetHealth(id string, h runtime.HealthStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	if c.running() {
		r.setHealth(c, h)
	}
	return nil
}

// Counters counts calls of the runtime's operations.
type Counters struct {
	Pulls    int64 // pulls from the simulated registry, not cache hits
	Creates  int64
	Starts   int64
	Stops    int64
	Removes  int64
	Inspects int64
}

type counters struct {
	pulls, creates, starts, stops, removes, inspects atomic.Int64
}

// Counters returns the operation counts so far.
func (r *Runtime) Counters() Counters {
	c := &r.counters
	return Counters{
		Pulls: c.pulls.Load(), Creates: c.creates.Load(), Starts: c.starts.Load(),
		Stops: c.stops.Load(), Removes: c.removes.Load(), Inspects: c.inspects.Load(),
	}
}
