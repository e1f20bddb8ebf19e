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
func (s *Store) Watch(ctx context.Context) <-chan Event {
	ch := make(chan Event, watchBuffer)
	w := &watcher{ch: ch}
	s.watchers.add(w)
	w.stop = context.AfterFunc(ctx, func() { s.watchers.remove(w) })
	return ch
}

type watcher struct {
	ch   chan Event
	stop func() bool
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

// remove closes w's channel unless that was done already.
func (ws *watchers) remove(w *watcher) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.drop(w)
}

func (ws *watchers) drop(w *watcher) {
	if _, ok := ws.set[w]; ok {
		delete(ws.set, w)
		close(w.ch)
	}
}

func (ws *watchers) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		for _, e := range events {
			select {
			case w.ch <- e:
			default:
				ws.drop(w) // too far behind: the watcher must re-read
			}
			if _, live := ws.set[w]; !live {
				break
			}
		}
	}
}

func (ws *watchers) closeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		w.stop()
		ws.drop(w)
	}
}
