package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// proposal is one command waiting for the writer.
type proposal struct {
	cmd    *berthv1.Command
	result proto.Message
	err    error
	events []Event
	done   chan struct{}
}

// releaseEvery is how often the writer lets go of the state file's pages
// that transactions have read (see releaseMapped).
const releaseEvery = 10 * time.Second

// write is the writer goroutine: it takes whatever is queued (up to
// MaxBatch), applies it in one transaction and answers every caller. While
// one transaction syncs, new commands queue up for the next: group commit.
func (s *Store) write() {
	defer close(s.done)
	batch := make([]*proposal, 0, s.opts.MaxBatch)
	release := time.NewTicker(releaseEvery)
	defer release.Stop()
	for {
		var first *proposal
		select {
		case <-release.C:
			releaseMapped(s.db) // an error only leaves the pages mapped
			continue
		case first = <-s.queue:
		case <-s.closing:
			// Apply what was queued before Close, then stop.
			for {
				select {
				case p := <-s.queue:
					s.commit(append(batch[:0], p))
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < s.opts.MaxBatch {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit applies batch in one transaction. If the transaction fails as a
// whole (not a rejection of one command), each command is retried alone so
// that one bad command cannot fail the others.
func (s *Store) commit(batch []*proposal) {
	start := time.Now()
	rev, err := s.applyBatch(batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			s.commit([]*proposal{p})
		}
		return
	}
	if err != nil {
		batch[0].result, batch[0].err, batch[0].events = nil, err, nil
	} else {
		s.revision.Store(rev)
	}
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(len(batch), time.Since(start))
	}
	for _, p := range batch {
		s.taskDefs.update(p.events)
		s.instances.update(KindContainerInstance, p.events)
		s.tasks.update(KindTask, p.events)
		s.services.update(KindService, p.events)
		s.watchers.publish(p.events)
		close(p.done)
	}
}

// applyBatch runs every command of batch in one durable transaction and
// returns the new revision. Rejections stay with their command; any other
// error aborts the transaction.
func (s *Store) applyBatch(batch []*proposal) (uint64, error) {
	rev := s.revision.Load()
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, p := range batch {
			c := &change{tx: tx, revision: rev + 1, at: p.cmd.GetAt(), strs: &s.strs}
			result, err := apply(c, p.cmd)
			if err != nil {
				var rejected *apierr.Error
				if errors.As(err, &rejected) {
					p.result, p.err, p.events = nil, err, nil
					continue
				}
				return err
			}
			p.result, p.err, p.events = result, nil, c.events
			if len(c.events) > 0 {
				rev++
			}
		}
		return tx.Bucket(bucketMeta).Put(keyRevision, u64(rev))
	})
	if err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	return rev, nil
}
