package hollow

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// subscriber is one Events stream. Its queue is unbounded so that publishing, done
// under Runtime.mu, never waits for a slow reader.
type subscriber struct {
	labels map[string]string
	wake   chan struct{} // capacity 1: "the queue is not empty"

	mu    sync.Mutex
	queue []runtime.Event
}

// Events implements runtime.Runtime. Each stream has one goroutine, which ends when
// ctx ends.
func (r *Runtime) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	s := &subscriber{labels: labels, wake: make(chan struct{}, 1)}
	r.mu.Lock()
	r.subs[s] = true
	r.mu.Unlock()
	out, errc := make(chan runtime.Event), make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		defer r.unsubscribe(s)
		errc <- s.deliver(ctx, out)
	}()
	return out, errc
}

// deliver sends queued events to out until ctx ends, and returns ctx.Err().
func (s *subscriber) deliver(ctx context.Context, out chan<- runtime.Event) error {
	for {
		ev, ok := s.pop()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *subscriber) push(ev runtime.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) pop() (runtime.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return runtime.Event{}, false
	}
	ev := s.queue[0]
	s.queue[0] = runtime.Event{}
	s.queue = s.queue[1:]
	return ev, true
}

func (r *Runtime) unsubscribe(s *subscriber) {
	r.mu.Lock()
	delete(r.subs, s)
	r.mu.Unlock()
}

// publish fills in ev for container c and queues it for every matching stream; the
// caller holds r.mu.
func (r *Runtime) publish(c *container, ev runtime.Event) {
	ev.ContainerID, ev.Time = c.state.ID, time.Now()
	ev.Labels = map[string]string{}
	for k, v := range c.state.Labels {
		if strings.HasPrefix(k, "berth.") {
			ev.Labels[k] = v
		}
	}
	for s := range r.subs {
		if runtime.MatchLabels(c.state.Labels, s.labels) {
			s.push(ev)
		}
	}
}
