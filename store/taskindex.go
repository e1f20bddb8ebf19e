package store

import (
	"maps"
	"slices"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// taskIndex is the tasks' objectIndex plus what the service scheduler, the
// placement snapshot and agent sessions look tasks up by, so that none of
// them scans a cluster's tasks: its tasks by group, its live (not STOPPED)
// tasks by instance, and per instance how many live tasks each group has.
// The maps are kept by the observe hook, under the objectIndex's lock.
type taskIndex struct {
	objectIndex[*berthv1.TaskRecord]
	byGroup  map[string]map[string]map[string]*berthv1.TaskRecord // cluster, group, task id
	live     map[string]map[string]map[string]*berthv1.TaskRecord // cluster, instance id ("": none yet), task id
	groupsOn map[string]map[string]map[string]int                 // cluster, instance id, group: live tasks
}

func (x *taskIndex) init() {
	x.byGroup = map[string]map[string]map[string]*berthv1.TaskRecord{}
	x.live = map[string]map[string]map[string]*berthv1.TaskRecord{}
	x.groupsOn = map[string]map[string]map[string]int{}
	x.observe = x.changed
}

func (x *taskIndex) changed(cluster string, old *berthv1.TaskRecord, had bool, rec *berthv1.TaskRecord, has bool) {
	if had {
		delete(x.byGroup[cluster][old.Task.GetGroup()], old.Id)
		if isLive(old) {
			delete(x.live[cluster][old.InstanceId], old.Id)
			if old.InstanceId != "" {
				counts := x.groupsOn[cluster][old.InstanceId]
				if counts[old.Task.GetGroup()]--; counts[old.Task.GetGroup()] <= 0 {
					delete(counts, old.Task.GetGroup())
				}
			}
		}
	}
	if has {
		inner(inner(x.byGroup, cluster), rec.Task.GetGroup())[rec.Id] = rec
		if isLive(rec) {
			inner(inner(x.live, cluster), rec.InstanceId)[rec.Id] = rec
			if rec.InstanceId != "" {
				inner(inner(x.groupsOn, cluster), rec.InstanceId)[rec.Task.GetGroup()]++
			}
		}
	}
}

func isLive(t *berthv1.TaskRecord) bool { return t.Task.GetLastStatus() != TaskStopped }

// inner is m[k], made if missing.
func inner[K comparable, V any](m map[string]map[K]V, k string) map[K]V {
	v := m[k]
	if v == nil {
		v = map[K]V{}
		m[k] = v
	}
	return v
}

// sortedByID returns the records of m ordered by id.
func sortedByID(m map[string]*berthv1.TaskRecord) []*berthv1.TaskRecord {
	out := slices.Collect(maps.Values(m))
	slices.SortFunc(out, func(a, b *berthv1.TaskRecord) int {
		switch {
		case a.Id < b.Id:
			return -1
		case a.Id > b.Id:
			return 1
		}
		return 0
	})
	return out
}

// TasksOfGroup returns the cluster's tasks of a task group ("service:web"),
// STOPPED ones included, by id. The records are shared.
func (s *Store) TasksOfGroup(cluster, group string) []*berthv1.TaskRecord {
	s.tasks.mu.RLock()
	defer s.tasks.mu.RUnlock()
	return sortedByID(s.tasks.byGroup[cluster][group])
}

// LiveTasksOn returns the tasks on an instance that are not STOPPED, by id;
// instance "" gives the live tasks not placed on any instance yet. The
// records are shared.
func (s *Store) LiveTasksOn(cluster, instanceID string) []*berthv1.TaskRecord {
	s.tasks.mu.RLock()
	defer s.tasks.mu.RUnlock()
	return sortedByID(s.tasks.live[cluster][instanceID])
}

// GroupsByInstance counts, per instance id, the cluster's tasks that are not
// STOPPED by task group. The maps are the caller's.
func (s *Store) GroupsByInstance(cluster string) map[string]map[string]int {
	s.tasks.mu.RLock()
	defer s.tasks.mu.RUnlock()
	out := make(map[string]map[string]int, len(s.tasks.groupsOn[cluster]))
	for id, counts := range s.tasks.groupsOn[cluster] {
		if len(counts) > 0 {
			out[id] = maps.Clone(counts)
		}
	}
	return out
}

// GroupCountsByInstance is GroupsByInstance for the named groups only: it
// costs their tasks, not the cluster's.
func (s *Store) GroupCountsByInstance(cluster string, groups ...string) map[string]map[string]int {
	s.tasks.mu.RLock()
	defer s.tasks.mu.RUnlock()
	out := map[string]map[string]int{}
	for _, g := range groups {
		for _, t := range s.tasks.byGroup[cluster][g] {
			if t.InstanceId != "" && isLive(t) {
				inner(out, t.InstanceId)[g]++
			}
		}
	}
	return out
}

// TasksPage returns up to limit of the cluster's tasks that keep accepts
// (all when nil) with ids after after, by id. The records are shared.
func (s *Store) TasksPage(cluster, after string, limit int, keep func(*berthv1.TaskRecord) bool) []*berthv1.TaskRecord {
	return s.tasks.page(cluster, after, limit, keep)
}
