package hostpool

import (
	"context"
	"time"

	"github.com/berth/berth/store"
)

// clusterLoop wakes a pass over clusters: over every cluster at start, after
// a cut watch and every resync; over the clusters that mark finds in the
// store's events (taking what else comes within settle, so that a burst is
// decided as a whole); and over the cluster that handle names for each
// result of the Loop's own goroutines.
type clusterLoop[R any] struct {
	store          *store.Store
	resync, settle time.Duration
	results        <-chan R
	// handle records a result and returns the cluster it concerns.
	handle func(R) string
	// mark marks the cluster an event concerns, and reports whether it did.
	mark func(dirty map[string]bool, e store.Event) bool
	// pass reconciles the dirty clusters (every cluster when nil).
	pass func(ctx context.Context, dirty map[string]bool)
}

// run loops until ctx ends.
func (l clusterLoop[R]) run(ctx context.Context) {
	tick := time.NewTicker(l.resync)
	defer tick.Stop()
	for ctx.Err() == nil {
		events := l.store.Watch(ctx)
		l.pass(ctx, nil) // anything before this watch may have been missed
		for open := true; open; {
			dirty := map[string]bool{}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				dirty = nil // all
			case r := <-l.results:
				dirty[l.handle(r)] = true
			case e, ok := <-events:
				if !ok {
					open = false
					break
				}
				if !l.mark(dirty, e) {
					continue
				}
				if open = l.waitSettle(ctx, events, dirty); ctx.Err() != nil {
					return
				}
			}
			l.pass(ctx, dirty)
		}
	}
}

// waitSettle marks what else comes within settle; false when the watch
// closed.
func (l clusterLoop[R]) waitSettle(ctx context.Context, events <-chan store.Event, dirty map[string]bool) bool {
	t := time.NewTimer(l.settle)
	defer t.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return false
			}
			l.mark(dirty, e)
		case <-t.C:
			return true
		case <-ctx.Done():
			return true
		}
	}
}
