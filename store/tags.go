package store

import (
	"strconv"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Tags live in the records that carry them (clusters, services, tasks, task
// definitions, container instances, capacity providers): TagResourceCommand
// rewrites that record, and ResourceTags reads it.

// Taggable resource types, as in their ARNs.
const (
	TaggedCluster           = "cluster"
	TaggedService           = "service"
	TaggedTask              = "task"
	TaggedTaskDefinition    = "task-definition"
	TaggedContainerInstance = "container-instance"
	TaggedCapacityProvider  = "capacity-provider"
)

// MaxTags is the most tags a resource may have, as in ECS.
const MaxTags = 50

// ReasonResourceNotFound is a resource to tag that does not exist.
const ReasonResourceNotFound = "ResourceNotFound"

func resourceNotFound(r *berthv1.TaggedResource) error {
	return refused(apierr.NotFound, ReasonResourceNotFound, "The specified resource could not be found: %s", describeTagged(r))
}

func describeTagged(r *berthv1.TaggedResource) string {
	switch r.GetType() {
	case TaggedTaskDefinition:
		return r.GetType() + " " + r.GetName() + ":" + itoa(r.GetRevision())
	case TaggedService, TaggedTask, TaggedContainerInstance:
		return r.GetType() + " " + r.GetName() + " of cluster " + r.GetCluster()
	default:
		return r.GetType() + " " + r.GetName()
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// taggedRecord is a resource's stored record, decoded afresh, with its tags
// and how to store it again in a change.
type taggedRecord struct {
	tags func() []*berthv1.Tag
	set  func([]*berthv1.Tag)
	save func(c *change) error
}

// loadTagged reads the resource r names. A cluster that is missing or
// INACTIVE is ClusterNotFound, whether it is the resource or holds it; any
// other resource that is missing is ResourceNotFound.
func loadTagged(tx *bolt.Tx, r *berthv1.TaggedResource) (*taggedRecord, error) {
	if r.GetType() == TaggedService || r.GetType() == TaggedTask || r.GetType() == TaggedContainerInstance || r.GetType() == TaggedCluster {
		name := r.GetCluster()
		if r.GetType() == TaggedCluster {
			name = r.GetName()
		}
		cl := &berthv1.Cluster{}
		found, err := get(tx, bucketClusters, []byte(name), cl)
		if err != nil {
			return nil, err
		}
		if !found || (r.GetType() == TaggedCluster && cl.Status != StatusActive) {
			return nil, clusterNotFound(name)
		}
		if r.GetType() == TaggedCluster {
			return &taggedRecord{
				tags: func() []*berthv1.Tag { return cl.Tags },
				set:  func(t []*berthv1.Tag) { cl.Tags = t },
				save: func(c *change) error { return c.put(KindCluster, bucketClusters, []byte(name), cl) },
			}, nil
		}
	}
	switch r.GetType() {
	case TaggedService:
		rec := &berthv1.ServiceRecord{}
		key := serviceKey(r.GetCluster(), r.GetName())
		found, err := get(tx, bucketServices, key, rec)
		if err != nil || !found || rec.GetService() == nil {
			return nil, orNotFound(err, r)
		}
		return &taggedRecord{
			tags: func() []*berthv1.Tag { return rec.Service.Tags },
			set:  func(t []*berthv1.Tag) { rec.Service.Tags = t },
			save: func(c *change) error {
				// A new version: a writer holding the service as it was
				// must read it again rather than drop the tags.
				rec.Version++
				return c.put(KindService, bucketServices, key, rec)
			},
		}, nil
	case TaggedTask:
		rec := &berthv1.TaskRecord{}
		found, err := get(tx, bucketTasks, taskKey(r.GetCluster(), r.GetName()), rec)
		if err != nil || !found || rec.GetTask() == nil {
			return nil, orNotFound(err, r)
		}
		return &taggedRecord{
			tags: func() []*berthv1.Tag { return rec.Task.Tags },
			set:  func(t []*berthv1.Tag) { rec.Task.Tags = t },
			save: func(c *change) error { return c.putTask(rec) },
		}, nil
	case TaggedContainerInstance:
		rec := &berthv1.ContainerInstanceRecord{}
		found, err := get(tx, bucketInstances, instanceKey(r.GetCluster(), r.GetName()), rec)
		if err != nil || !found || rec.GetInstance() == nil {
			return nil, orNotFound(err, r)
		}
		return &taggedRecord{
			tags: func() []*berthv1.Tag { return rec.Instance.Tags },
			set:  func(t []*berthv1.Tag) { rec.Instance.Tags = t },
			save: func(c *change) error {
				c.strs.instance(rec)
				return c.putInstance(rec)
			},
		}, nil
	case TaggedTaskDefinition:
		rec := &berthv1.TaskDefinitionRecord{}
		key := taskDefKey(r.GetName(), r.GetRevision())
		found, err := get(tx, bucketTaskDefs, key, rec)
		if err != nil || !found {
			return nil, orNotFound(err, r)
		}
		return &taggedRecord{
			tags: func() []*berthv1.Tag { return rec.Tags },
			set:  func(t []*berthv1.Tag) { rec.Tags = t },
			save: func(c *change) error { return c.put(KindTaskDefinition, bucketTaskDefs, key, rec) },
		}, nil
	case TaggedCapacityProvider:
		cp := &berthv1.CapacityProvider{}
		found, err := get(tx, bucketCapacityProviders, []byte(r.GetName()), cp)
		if err != nil || !found {
			return nil, orNotFound(err, r)
		}
		return &taggedRecord{
			tags: func() []*berthv1.Tag { return cp.Tags },
			set:  func(t []*berthv1.Tag) { cp.Tags = t },
			save: func(c *change) error {
				return c.put(KindCapacityProvider, bucketCapacityProviders, []byte(r.GetName()), cp)
			},
		}, nil
	}
	return nil, badParameter("resourceArn", "resource type %q cannot be tagged", r.GetType())
}

func orNotFound(err error, r *berthv1.TaggedResource) error {
	if err != nil {
		return err
	}
	return resourceNotFound(r)
}

// tagResource sets and removes tags on one resource, refused (writing
// nothing) when the resource is missing or would have more than MaxTags.
func tagResource(c *change, cmd *berthv1.TagResourceCommand) (proto.Message, error) {
	rec, err := loadTagged(c.tx, cmd.GetResource())
	if err != nil {
		return nil, err
	}
	tags := mergeTags(rec.tags(), cmd.GetTags(), cmd.GetTagKeys())
	if len(tags) > MaxTags {
		return nil, badParameter("tags", "a resource may have at most %d tags; this would give it %d", MaxTags, len(tags))
	}
	rec.set(tags)
	if err := rec.save(c); err != nil {
		return nil, err
	}
	return &berthv1.TagResourceResult{Tags: tags}, nil
}

// mergeTags is have with set applied (a key already there keeps its place
// and takes the new value; new keys follow in order) and the keys of drop
// removed.
func mergeTags(have, set []*berthv1.Tag, drop []string) []*berthv1.Tag {
	out := make([]*berthv1.Tag, 0, len(have)+len(set))
	at := make(map[string]int, len(have)+len(set))
	for _, t := range have {
		at[t.GetKey()] = len(out)
		out = append(out, &berthv1.Tag{Key: t.GetKey(), Value: t.GetValue()})
	}
	for _, t := range set {
		if i, ok := at[t.GetKey()]; ok {
			out[i].Value = t.GetValue()
			continue
		}
		at[t.GetKey()] = len(out)
		out = append(out, &berthv1.Tag{Key: t.GetKey(), Value: t.GetValue()})
	}
	if len(drop) == 0 {
		return out
	}
	gone := make(map[string]bool, len(drop))
	for _, k := range drop {
		gone[k] = true
	}
	kept := out[:0]
	for _, t := range out {
		if !gone[t.GetKey()] {
			kept = append(kept, t)
		}
	}
	return kept
}

// ResourceTags returns the tags of the resource r names (a copy).
func (s *Store) ResourceTags(r *berthv1.TaggedResource) ([]*berthv1.Tag, error) {
	var out []*berthv1.Tag
	err := s.view(func(tx *bolt.Tx) error {
		rec, err := loadTagged(tx, r)
		if err != nil {
			return err
		}
		out = mergeTags(rec.tags(), nil, nil)
		return nil
	})
	return out, err
}
