package hollow

import (
	"context"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Stop implements runtime.Runtime: it blocks, as Docker's stop does, until the
// container has exited or ctx ends.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	r.counters.stops.Add(1)
	r.mu.Lock()
	if err := r.faults.take(OpStop); err != nil {
		r.mu.Unlock()
		return err
	}
	c, err := r.lookup(id)
	if err != nil || !c.running() {
		r.mu.Unlock()
		return err
	}
	b := c.behavior
	if !b.trapsTerm {
		r.exit(c, exitSIGTERM, false)
		r.mu.Unlock()
		return nil
	}
	c.print(false, "SIGTERM received")
	if b.termGrace < timeout {
		r.after(c, b.termGrace, func() { r.exit(c, 0, false) })
	} else {
		r.after(c, timeout, func() { r.exit(c, exitSIGKILL, false) })
	}
	exited := c.exited
	r.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove implements runtime.Runtime.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	r.counters.removes.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.faults.take(OpRemove); err != nil {
		return err
	}
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	r.exit(c, exitSIGKILL, false)
	c.stopTimers()
	delete(r.containers, id)
	delete(r.names, c.spec.Name)
	c.output.wakeReaders() // a follower of a container that never ran ends too
	r.publish(c, runtime.Event{Type: runtime.EventDestroy})
	return nil
}
