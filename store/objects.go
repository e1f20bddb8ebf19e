package store

import (
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// objectIndex holds one bucket's records in memory, by cluster then id, for
// hot reads. Like taskDefIndex it is loaded at Open and changed only by the
// writer after a commit; records are shared and never modified.
type objectIndex[T proto.Message] struct {
	mu        sync.RWMutex
	byCluster map[string]map[string]T
}

func (x *objectIndex[T]) load(b *bolt.Bucket, decode func([]byte) (T, error)) error {
	x.byCluster = make(map[string]map[string]T)
	return b.ForEach(func(k, v []byte) error {
		rec, err := decode(v)
		if err != nil {
			return err
		}
		x.set(string(k), rec)
		return nil
	})
}

// set stores rec under its key "cluster\x00id"; the caller holds mu or owns x.
func (x *objectIndex[T]) set(key string, rec T) {
	cluster, id, _ := strings.Cut(key, "\x00")
	m := x.byCluster[cluster]
	if m == nil {
		m = make(map[string]T)
		x.byCluster[cluster] = m
	}
	m[id] = rec
}

func (x *objectIndex[T]) update(kind Kind, events []Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range events {
		if e.Kind != kind {
			continue
		}
		if e.Deleted {
			cluster, id, _ := strings.Cut(e.Key, "\x00")
			delete(x.byCluster[cluster], id)
			continue
		}
		x.set(e.Key, e.Value.(T))
	}
}

func (x *objectIndex[T]) get(cluster, id string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	rec, ok := x.byCluster[cluster][id]
	return rec, ok
}

// list returns the cluster's records that keep accepts, ordered by id.
func (x *objectIndex[T]) list(cluster string, keep func(T) bool) []T {
	x.mu.RLock()
	ids := make([]string, 0, len(x.byCluster[cluster]))
	for id, rec := range x.byCluster[cluster] {
		if keep == nil || keep(rec) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = x.byCluster[cluster][id]
	}
	x.mu.RUnlock()
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
