package store

import (
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// fillTaskFamilies gives every task stored before schema version 4 the
// family and revision of its task definition, read once from the end of its
// taskDefinitionArn (".../task-definition/FAMILY:REVISION"), so that nothing
// reads them from ARNs again.
func fillTaskFamilies(tx *bolt.Tx) error {
	b := tx.Bucket(bucketTasks)
	updated := map[string][]byte{}
	err := b.ForEach(func(k, v []byte) error {
		rec := &berthv1.TaskRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		if rec.Family != "" {
			return nil
		}
		family, revision, ok := taskDefinitionOf(rec.GetTask().GetTaskDefinitionArn())
		if !ok {
			return nil // no task definition to name: left as it is
		}
		rec.Family, rec.Revision = family, revision
		out, err := proto.Marshal(rec)
		if err != nil {
			return err
		}
		updated[string(k)] = out
		return nil
	})
	if err != nil {
		return err
	}
	for k, v := range updated { // bbolt forbids writes inside ForEach
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// taskDefinitionOf reads FAMILY:REVISION at the end of a task definition ARN.
func taskDefinitionOf(arn string) (string, int32, bool) {
	i := strings.LastIndex(arn, "task-definition/")
	if i < 0 {
		return "", 0, false
	}
	family, rev, ok := strings.Cut(arn[i+len("task-definition/"):], ":")
	n, err := strconv.ParseInt(rev, 10, 32)
	if !ok || err != nil || family == "" || n < 1 {
		return "", 0, false
	}
	return family, int32(n), true
}
