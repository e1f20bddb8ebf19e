package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Task definition statuses.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
)

func taskDefNotFound(family string, revision int32) error {
	if revision == 0 {
		return refused(apierr.NotFound, "",
			"taskDefinition: no ACTIVE revision of family %q", family)
	}
	return refused(apierr.NotFound, "",
		"taskDefinition: %s:%d does not exist", family, revision)
}

// registerTaskDefinition stores the family's next revision, ACTIVE.
func registerTaskDefinition(c *change, cmd *berthv1.RegisterTaskDefinitionCommand) (proto.Message, error) {
	td := proto.Clone(cmd.GetTaskDefinition()).(*berthv1.TaskDefinition)
	fam := &berthv1.TaskDefinitionFamily{Name: td.GetFamily()}
	if _, err := get(c.tx, bucketFamilies, []byte(fam.Name), fam); err != nil {
		return nil, err
	}
	fam.LastRevision++
	fam.ActiveRevisions++
	td.Revision = fam.LastRevision
	td.Status = StatusActive
	td.RegisteredAt = c.at
	rec := &berthv1.TaskDefinitionRecord{TaskDefinition: td, Tags: cmd.GetTags()}
	if err := c.put(KindTaskDefinition, bucketTaskDefs, taskDefKey(td.Family, td.Revision), rec); err != nil {
		return nil, err
	}
	if err := put(c.tx, bucketFamilies, []byte(fam.Name), fam); err != nil {
		return nil, err
	}
	return rec, nil
}

// deregisterTaskDefinition marks a revision INACTIVE; an INACTIVE one is
// returned as it is.
func deregisterTaskDefinition(c *change, cmd *berthv1.DeregisterTaskDefinitionCommand) (proto.Message, error) {
	rec := &berthv1.TaskDefinitionRecord{}
	key := taskDefKey(cmd.GetFamily(), cmd.GetRevision())
	found, err := get(c.tx, bucketTaskDefs, key, rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, taskDefNotFound(cmd.GetFamily(), cmd.GetRevision())
	}
	if rec.TaskDefinition.Status != StatusActive { // INACTIVE or DELETE_IN_PROGRESS
		return rec, nil
	}
	fam := &berthv1.TaskDefinitionFamily{}
	if _, err := get(c.tx, bucketFamilies, []byte(cmd.GetFamily()), fam); err != nil {
		return nil, err
	}
	fam.ActiveRevisions--
	rec.TaskDefinition.Status = StatusInactive
	rec.TaskDefinition.DeregisteredAt = c.at
	if err := c.put(KindTaskDefinition, bucketTaskDefs, key, rec); err != nil {
		return nil, err
	}
	if err := put(c.tx, bucketFamilies, []byte(fam.Name), fam); err != nil {
		return nil, err
	}
	return rec, nil
}

// TaskDefinition returns revision of family; revision 0 means the latest
// ACTIVE revision. It reads memory, not the file. The record is shared: the
// caller must not modify it.
func (s *Store) TaskDefinition(family string, revision int32) (*berthv1.TaskDefinitionRecord, error) {
	if rec := s.taskDefs.get(family, revision); rec != nil {
		return rec, nil
	}
	return nil, taskDefNotFound(family, revision)
}

// TaskDefinitionQuery selects task definitions for ListTaskDefinitions.
type TaskDefinitionQuery struct {
	Family     string // exact family, or "" for all
	Status     string // ACTIVE or INACTIVE
	Descending bool
	After      string // key to continue after (a page's Next), or ""
	Limit      int
}

// TaskDefinitionRef names one revision.
type TaskDefinitionRef struct {
	Family   string
	Revision int32
}

// TaskDefinitions lists the revisions the query selects, in family then
// revision order, and the key to continue from ("" at the end).
func (s *Store) TaskDefinitions(q TaskDefinitionQuery) ([]TaskDefinitionRef, string, error) {
	var out []TaskDefinitionRef
	var next string
	var prefix []byte
	if q.Family != "" {
		prefix = familyPrefix(q.Family)
	}
	err := s.view(func(tx *bolt.Tx) error {
		rec := &berthv1.TaskDefinitionRecord{}
		return scan(tx.Bucket(bucketTaskDefs), prefix, []byte(q.After), q.Descending, func(k, v []byte) (bool, error) {
			if err := proto.Unmarshal(v, rec); err != nil {
				return false, err
			}
			if rec.TaskDefinition.GetStatus() != q.Status {
				return true, nil
			}
			if len(out) == q.Limit {
				next = string(lastKey(out))
				return false, nil
			}
			family, revision := splitTaskDefKey(k)
			out = append(out, TaskDefinitionRef{family, revision})
			return true, nil
		})
	})
	return out, next, err
}

func lastKey(refs []TaskDefinitionRef) []byte {
	last := refs[len(refs)-1]
	return taskDefKey(last.Family, last.Revision)
}

// FamilyQuery selects families for ListTaskDefinitionFamilies.
type FamilyQuery struct {
	Prefix string
	Status string // ACTIVE (has an ACTIVE revision), INACTIVE (has none) or ALL
	After  string
	Limit  int
}

// Families lists family names in order and the key to continue from.
func (s *Store) Families(q FamilyQuery) ([]string, string, error) {
	var out []string
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		fam := &berthv1.TaskDefinitionFamily{}
		return scan(tx.Bucket(bucketFamilies), []byte(q.Prefix), []byte(q.After), false, func(k, v []byte) (bool, error) {
			if err := proto.Unmarshal(v, fam); err != nil {
				return false, err
			}
			active := fam.ActiveRevisions > 0
			if (q.Status == StatusActive && !active) || (q.Status == StatusInactive && active) {
				return true, nil
			}
			if len(out) == q.Limit {
				next = out[len(out)-1]
				return false, nil
			}
			out = append(out, string(k))
			return true, nil
		})
	})
	return out, next, err
}

// scan calls fn for each key with prefix, strictly after the key after (if
// not empty), ascending or descending, until fn returns false.
func scan(b *bolt.Bucket, prefix, after []byte, descending bool, fn func(k, v []byte) (bool, error)) error {
	c := b.Cursor()
	var k, v []byte
	switch {
	case !descending && len(after) > 0:
		k, v = c.Seek(after)
		if bytes.Equal(k, after) {
			k, v = c.Next()
		}
	case !descending:
		k, v = c.Seek(prefix)
	case len(after) > 0:
		c.Seek(after)
		k, v = c.Prev()
	default:
		k, v = seekLastWithPrefix(c, prefix)
	}
	step := c.Next
	if descending {
		step = c.Prev
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step() {
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// seekLastWithPrefix positions c on the last key with prefix.
func seekLastWithPrefix(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	if len(prefix) == 0 {
		return c.Last()
	}
	end := prefixEnd(prefix)
	if end == nil {
		return c.Last()
	}
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// prefixEnd is the smallest key greater than every key with prefix, or nil
// if there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
