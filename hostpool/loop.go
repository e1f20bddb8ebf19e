package hostpool

import (
	"context"
	"time"

	"github.com/berth/berth/store"
)

// ClusterLoop is the loop of a manager that reconciles clusters: the Fargate
// pool's and the EC2 capacity providers'. It passes over every cluster at
// start, after a cut watch and every Resync; over the clusters that Mark
// finds in the store's events (taking what else comes within Settle, so that
// a burst is decided as a whole); and over the cluster that Handle names for
// each result of the manager's own goroutines.
type ClusterLoop[R any] struct {
	Store          *store.Store
	Resync, Settle time.Duration
	Results        <-chan R
	// Handle records a result and returns the cluster it concerns.
	Handle func(R) string
	// Mark marks the cluster an event concerns, and reports whether it did.
	Mark func(dirty map[string]bool, e store.Event) bool
	// Pass reconciles the dirty clusters (every cluster when nil).
	Pass func(ctx context.Context, dirty map[string]bool)
}

// Run loops until ctx ends.
func (l ClusterLoop[R]) Run(ctx context.Context) {
	tick := time.NewTicker(l.Resync)
	defer tick.Stop()
	for ctx.Err() == nil {
		events := l.Store.Watch(ctx)
		l.Pass(ctx, nil) // anything before this watch may have been missed
		for open := true; open; {
			dirty := map[string]bool{}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				dirty = nil // all
			case r := <-l.Results:
				dirty[l.Handle(r)] = true
			case e, ok := <-events:
				if !ok {
					open = false
					break
				}
				if !l.Mark(dirty, e) {
					continue
				}
				if open = l.settle(ctx, events, dirty); ctx.Err() != nil {
					return
				}
			}
			l.Pass(ctx, dirty)
		}
	}
}

// settle marks what else comes within Settle; false when the watch closed.
func (l ClusterLoop[R]) settle(ctx context.Context, events <-chan store.Event, dirty map[string]bool) bool {
	t := time.NewTimer(l.Settle)
	defer t.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return false
			}
			l.Mark(dirty, e)
		case <-t.C:
			return true
		case <-ctx.Done():
			return true
		}
	}
}
