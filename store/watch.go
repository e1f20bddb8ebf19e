package store

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"
)

// Kind names what an Event is about.
type Kind string

// The kinds of stored objects.
const (
	KindCluster           Kind = "cluster"
	KindTaskDefinition    Kind = "taskdefinition"
	KindContainerInstance Kind = "containerinstance"
	KindTask              Kind = "task"
	KindService           Kind = "service"
	KindCapacityProvider  Kind = "capacityprovider"
)

// Event is one object written by a committed command. Value is the stored
// object (for a deletion, the object as it was last); it is shared between
// watchers and must not be modified.
type Event struct {
	Revision uint64
	Kind     Kind
	Key      string
	Value    proto.Message
	Deleted  bool
}

// watchBuffer is how many events a watcher may fall behind before it is cut
// off.
const watchBuffer = 16384

// Watch returns a channel of the events of every change committed from now
// on, in revision order. The channel is closed when ctx ends, when the store
// closes, or when the watcher falls more than 16,384 events behind;
// a watcher that sees it closed while ctx is live re-reads what it needs and
// watches again (level-triggered consumers lose nothing).
//
// Each watch owns one goroutine that hands its queued events to the
// channel; it ends when the channel is closed. The queue grows only as far
// as the watcher falls behind, so an idle watch holds almost nothing (a
// channel buffered 16,384 deep held 1 MiB that every garbage collection
// scanned).
func (s *Store) Watch(ctx context.Context) <-chan Event {
	w := &watcher{out: make(chan Event), wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.watchers.add(w)
	w.stop = context.AfterFunc(ctx, w.end)
	go s.watchers.forward(w)
	return w.out
}

type watcher struct {
	out  chan Event    // what Watch returned; closed by forward
	wake chan struct{} // an event was queued, or the watcher was cut off
	done chan struct{} // ctx ended or the store closed: stop now
	once sync.Once
	stop func() bool

	// Guarded by watchers.mu.
	queue   []Event
	pending int  // queued, and the one forward holds
	cut     bool // too far behind: deliver what is pending, then close
}

func (w *watcher) end() { w.once.Do(func() { close(w.done) }) }

func (w *watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// watchers is the set of live watches. Publishing never blocks the writer.
type watchers struct {
	mu  sync.Mutex
	set map[*watcher]struct{}
}

func (ws *watchers) add(w *watcher) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.set == nil {
		ws.set = make(map[*watcher]struct{})
	}
	ws.set[w] = struct{}{}
}

// forward hands w's queued events to its channel, in order, until w is cut
// off and drained or ends.
func (ws *watchers) forward(w *watcher) {
	defer func() {
		ws.mu.Lock()
		delete(ws.set, w)
		ws.mu.Unlock()
		w.stop()
		close(w.out)
	}()
	var batch []Event
	for {
		ws.mu.Lock()
		batch, w.queue = w.queue, batch[:0]
		cut := w.cut
		ws.mu.Unlock()
		if len(batch) == 0 {
			if cut {
				return
			}
			select {
			case <-w.wake:
				continue
			case <-w.done:
				return
			}
		}
		for i, e := range batch {
			batch[i] = Event{} // let the value go once it is handed over
			select {
			case w.out <- e:
			case <-w.done:
				return
			}
			ws.mu.Lock()
			w.pending--
			ws.mu.Unlock()
		}
		if cap(batch) > 1024 {
			batch = nil // a burst is over: do not keep its memory
		}
	}
}

func (ws *watchers) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		if w.cut {
			continue
		}
		for _, e := range events {
			if w.pending == watchBuffer {
				w.cut = true // too far behind: the watcher must re-read
				break
			}
			w.queue = append(w.queue, e)
			w.pending++
		}
		w.signal()
	}
}

func (ws *watchers) closeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		w.end()
	}
}
