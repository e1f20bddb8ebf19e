package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Lookup buckets: keys only, kept in the same transactions as the records
// they point at, so that commands find what they need without scanning a
// cluster's instances or tasks.
//
//	instance-ec2   cluster 0x00 ec2InstanceId          -> instance id
//	instance-tasks cluster 0x00 instance id 0x00 task id -> 1 (tasks not STOPPED)
var (
	bucketInstanceEC2   = []byte("instance-ec2")
	bucketInstanceTasks = []byte("instance-tasks")
)

func instanceTaskPrefix(cluster, instanceID string) []byte {
	return append(append(clusterPrefix(cluster), instanceID...), 0)
}

// indexInstance records the instance under its ec2InstanceId (or removes it).
func indexInstance(tx *bolt.Tx, rec *berthv1.ContainerInstanceRecord, deleted bool) error {
	ec2 := rec.Instance.GetEc2InstanceId()
	if ec2 == "" {
		return nil
	}
	b := tx.Bucket(bucketInstanceEC2)
	key := append(clusterPrefix(rec.Cluster), ec2...)
	if deleted {
		return b.Delete(key)
	}
	return b.Put(key, []byte(rec.Id))
}

// indexTask keeps the task under its instance while it is not STOPPED. A
// task is placed at most once (Fargate's from no instance to a pool host),
// so the key under no instance is dropped when it has one.
func indexTask(tx *bolt.Tx, rec *berthv1.TaskRecord) error {
	b := tx.Bucket(bucketInstanceTasks)
	key := append(instanceTaskPrefix(rec.Cluster, rec.InstanceId), rec.Id...)
	if rec.InstanceId != "" {
		if err := b.Delete(append(instanceTaskPrefix(rec.Cluster, ""), rec.Id...)); err != nil {
			return err
		}
	}
	// Writing only what changes keeps a report of RUNNING from rewriting
	// the lookup's pages.
	switch live := b.Get(key) != nil; {
	case rec.Task.GetLastStatus() == TaskStopped && live:
		return b.Delete(key)
	case rec.Task.GetLastStatus() != TaskStopped && !live:
		return b.Put(key, []byte{1})
	}
	return nil
}

// instanceByEC2ID finds the cluster's instance of that identity, or nil.
func instanceByEC2ID(c *change, cluster, ec2ID string) (*berthv1.ContainerInstanceRecord, error) {
	id := c.tx.Bucket(bucketInstanceEC2).Get(append(clusterPrefix(cluster), ec2ID...))
	if id == nil {
		return nil, nil
	}
	return loadInstance(c, cluster, string(id))
}

// liveTasksOn loads the instance's tasks that are not STOPPED.
func liveTasksOn(c *change, cluster, instanceID string) ([]*berthv1.TaskRecord, error) {
	var out []*berthv1.TaskRecord
	prefix := instanceTaskPrefix(cluster, instanceID)
	cur := c.tx.Bucket(bucketInstanceTasks).Cursor()
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		rec, err := loadTask(c, cluster, string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// fillLookups is the migration that builds the lookup buckets from the
// records already stored.
func fillLookups(tx *bolt.Tx) error {
	if err := createBuckets(bucketInstanceEC2, bucketInstanceTasks)(tx); err != nil {
		return err
	}
	err := tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error {
		rec := &berthv1.ContainerInstanceRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		return indexInstance(tx, rec, false)
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
		rec := &berthv1.TaskRecord{}
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		return indexTask(tx, rec)
	})
}
