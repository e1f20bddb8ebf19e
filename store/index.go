package store

import (
	"sync"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// taskDefIndex holds every task definition revision in memory for hot reads.
// It is loaded at Open and changed only by the writer, after a commit and
// before the callers are answered, so a caller reads its own writes. Records
// in it are shared and never modified: a change replaces the record.
type taskDefIndex struct {
	mu       sync.RWMutex
	families map[string][]*berthv1.TaskDefinitionRecord // revision r at [r-1]
}

func (x *taskDefIndex) load(tx *bolt.Tx) error {
	x.families = make(map[string][]*berthv1.TaskDefinitionRecord)
	return tx.Bucket(bucketTaskDefs).ForEach(func(k, v []byte) error {
		rec := &berthv1.TaskDefinitionRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		x.set(splitKeyRecord(k, rec))
		return nil
	})
}

func splitKeyRecord(k []byte, rec *berthv1.TaskDefinitionRecord) (string, int32, *berthv1.TaskDefinitionRecord) {
	family, rev := splitTaskDefKey(k)
	return family, rev, rec
}

// set stores rec as family:rev; the caller holds mu or owns x.
func (x *taskDefIndex) set(family string, rev int32, rec *berthv1.TaskDefinitionRecord) {
	revs := x.families[family]
	for int32(len(revs)) < rev {
		revs = append(revs, nil)
	}
	revs[rev-1] = rec
	x.families[family] = revs
}

// update applies committed events.
func (x *taskDefIndex) update(events []Event) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range events {
		if e.Kind == KindTaskDefinition {
			family, rev := splitTaskDefKey([]byte(e.Key))
			x.set(family, rev, e.Value.(*berthv1.TaskDefinitionRecord))
		}
	}
}

// get returns family:rev, or with rev 0 the latest ACTIVE revision; nil if
// there is none.
func (x *taskDefIndex) get(family string, rev int32) *berthv1.TaskDefinitionRecord {
	x.mu.RLock()
	defer x.mu.RUnlock()
	revs := x.families[family]
	if rev > 0 {
		if int(rev) > len(revs) {
			return nil
		}
		return revs[rev-1]
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i] != nil && revs[i].TaskDefinition.GetStatus() == StatusActive {
			return revs[i]
		}
	}
	return nil
}
