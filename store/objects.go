package store

import (
	"strings"
	"sync"

	"github.com/google/btree"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// objectIndex holds one bucket's records in memory, by cluster then id, for
// hot reads, with the ids of each cluster in order (a B-tree) so that a page
// of a list costs its own length, not the cluster's size. Like taskDefIndex
// it is loaded at Open and changed only by the writer after a commit; records
// are shared and never modified.
type objectIndex[T proto.Message] struct {
	mu        sync.RWMutex
	byCluster map[string]*clusterObjects[T]
	// observe, if set, sees every change under mu (for secondary indexes):
	// the record before (had false: none) and after (has false: deleted).
	observe func(cluster string, old T, had bool, rec T, has bool)
}

type clusterObjects[T proto.Message] struct {
	byID  map[string]T
	order *btree.BTreeG[ordered[T]]
}

// ordered is a B-tree item: the id it is ordered by, and the record, so that
// a page is read from the tree alone.
type ordered[T any] struct {
	id  string
	rec T
}

func lessByID[T any](a, b ordered[T]) bool { return a.id < b.id }

func (x *objectIndex[T]) load(b *bolt.Bucket, decode func([]byte) (T, error)) error {
	x.byCluster = make(map[string]*clusterObjects[T])
	return b.ForEach(func(k, v []byte) error {
		rec, err := decode(v)
		if err != nil {
			return err
		}
		cluster, id, _ := strings.Cut(string(k), "\x00")
		x.change(cluster, id, rec, true)
		return nil
	})
}

// change sets (has) or deletes the record of cluster and id; the caller
// holds mu or owns x.
func (x *objectIndex[T]) change(cluster, id string, rec T, has bool) {
	c := x.byCluster[cluster]
	if c == nil {
		c = &clusterObjects[T]{byID: make(map[string]T), order: btree.NewG(32, lessByID[T])}
		x.byCluster[cluster] = c
	}
	old, had := c.byID[id]
	if r, ok := any(rec).(interface{ GetId() string }); has && ok && r.GetId() == id {
		// The key is the record's own id, not one cut from the event's key
		// (which it would keep whole); a map keeps the key it was first
		// given, so the old entry goes first.
		id = r.GetId()
		delete(c.byID, id)
	}
	switch {
	case has:
		c.byID[id] = rec
		c.order.ReplaceOrInsert(ordered[T]{id, rec})
	case had:
		delete(c.byID, id)
		c.order.Delete(ordered[T]{id: id})
	}
	if x.observe != nil && (had || has) {
		x.observe(cluster, old, had, rec, has)
	}
}

func (x *objectIndex[T]) update(kind Kind, events []Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range events {
		if e.Kind != kind {
			continue
		}
		cluster, id, _ := strings.Cut(e.Key, "\x00")
		var rec T
		if !e.Deleted {
			rec = e.Value.(T)
		}
		x.change(cluster, id, rec, !e.Deleted)
	}
}

func (x *objectIndex[T]) get(cluster, id string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var rec T
	c := x.byCluster[cluster]
	if c == nil {
		return rec, false
	}
	rec, ok := c.byID[id]
	return rec, ok
}

// list returns the cluster's records that keep accepts, ordered by id.
func (x *objectIndex[T]) list(cluster string, keep func(T) bool) []T {
	return x.page(cluster, "", -1, keep)
}

// page returns up to limit (-1: all) of the cluster's records that keep
// accepts and whose id is after after, ordered by id.
func (x *objectIndex[T]) page(cluster, after string, limit int, keep func(T) bool) []T {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c := x.byCluster[cluster]
	if c == nil || limit == 0 {
		return nil
	}
	var out []T
	if limit < 0 {
		out = make([]T, 0, len(c.byID))
	}
	c.order.AscendGreaterOrEqual(ordered[T]{id: after}, func(item ordered[T]) bool {
		if item.id == after {
			return true
		}
		if keep == nil || keep(item.rec) {
			out = append(out, item.rec)
		}
		return limit < 0 || len(out) < limit
	})
	return out
}

func decodeInstance(v []byte) (*berthv1.ContainerInstanceRecord, error) {
	rec := &berthv1.ContainerInstanceRecord{}
	return rec, proto.Unmarshal(v, rec)
}

func decodeTask(v []byte) (*berthv1.TaskRecord, error) {
	rec := &berthv1.TaskRecord{}
	return rec, proto.Unmarshal(v, rec)
}

// ContainerInstance returns a registered instance. The record is shared: the
// caller must not modify it.
func (s *Store) ContainerInstance(cluster, id string) (*berthv1.ContainerInstanceRecord, error) {
	if rec, ok := s.instances.get(cluster, id); ok {
		return rec, nil
	}
	return nil, instanceNotFound(cluster, id)
}

// ContainerInstances lists the cluster's registered instances that keep
// accepts (all when nil), by id. The records are shared.
func (s *Store) ContainerInstances(cluster string, keep func(*berthv1.ContainerInstanceRecord) bool) []*berthv1.ContainerInstanceRecord {
	return s.instances.list(cluster, keep)
}

// Task returns a task. The record is shared: the caller must not modify it.
func (s *Store) Task(cluster, id string) (*berthv1.TaskRecord, error) {
	if rec, ok := s.tasks.get(cluster, id); ok {
		return rec, nil
	}
	return nil, taskNotFound(cluster, id)
}

// Tasks lists the cluster's tasks that keep accepts (all when nil), by id.
// The records are shared.
func (s *Store) Tasks(cluster string, keep func(*berthv1.TaskRecord) bool) []*berthv1.TaskRecord {
	return s.tasks.list(cluster, keep)
}
