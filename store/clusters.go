package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func clusterNotFound(name string) error {
	return apierr.New(apierr.NotFound, ReasonClusterNotFound, "cluster %q not found", name).Says(TextClusterNotFound)
}

// createCluster stores a new ACTIVE cluster, or returns the ACTIVE one of
// that name unchanged; an INACTIVE (deleted) one is created anew.
func createCluster(c *change, cmd *berthv1.CreateClusterCommand) (proto.Message, error) {
	name := cmd.GetCluster().GetClusterName()
	existing := &berthv1.Cluster{}
	found, err := get(c.tx, bucketClusters, []byte(name), existing)
	if err != nil {
		return nil, err
	}
	if found && existing.Status == StatusActive {
		return existing, nil
	}
	cl := proto.Clone(cmd.GetCluster()).(*berthv1.Cluster)
	cl.Status = StatusActive
	if err := c.put(KindCluster, bucketClusters, []byte(name), cl); err != nil {
		return nil, err
	}
	return cl, nil
}

// deleteCluster marks a cluster INACTIVE, refused (with ECS's messages) while
// it holds services or container instances.
func deleteCluster(c *change, cmd *berthv1.DeleteClusterCommand) (proto.Message, error) {
	name := cmd.GetClusterName()
	cl, err := loadActiveCluster(c, name)
	if err != nil {
		return nil, err
	}
	if hasLiveServices(c, name) {
		return nil, refused(apierr.FailedPrecondition, ReasonClusterHasServices,
			"The Cluster cannot be deleted while Services are active.")
	}
	if hasKeys(c.tx, bucketInstances, clusterPrefix(name)) {
		return nil, refused(apierr.FailedPrecondition, ReasonClusterHasInstances,
			"The Cluster cannot be deleted while Container Instances are active or draining.")
	}
	if hasLiveTasks(c, name) {
		return nil, refused(apierr.FailedPrecondition, ReasonClusterHasTasks,
			"The Cluster cannot be deleted while Tasks are active.")
	}
	cl.Status = StatusInactive
	if err := c.put(KindCluster, bucketClusters, []byte(name), cl); err != nil {
		return nil, err
	}
	return cl, nil
}

func hasKeys(tx *bolt.Tx, bucket, prefix []byte) bool {
	k, _ := tx.Bucket(bucket).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// Cluster returns the named cluster, ACTIVE or INACTIVE.
func (s *Store) Cluster(name string) (*berthv1.Cluster, error) {
	cl := &berthv1.Cluster{}
	err := s.view(func(tx *bolt.Tx) error {
		found, err := get(tx, bucketClusters, []byte(name), cl)
		if err == nil && !found {
			err = clusterNotFound(name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// Clusters lists the ACTIVE clusters' names after the key after, at most
// limit, and the key to continue from ("" at the end).
func (s *Store) Clusters(after string, limit int) ([]string, string, error) {
	var out []string
	var next string
	err := s.view(func(tx *bolt.Tx) error {
		cl := &berthv1.Cluster{}
		return scan(tx.Bucket(bucketClusters), nil, []byte(after), false, func(k, v []byte) (bool, error) {
			if err := proto.Unmarshal(v, cl); err != nil {
				return false, err
			}
			if cl.Status != StatusActive {
				return true, nil
			}
			if len(out) == limit {
				next = out[len(out)-1]
				return false, nil
			}
			out = append(out, string(k))
			return true, nil
		})
	})
	return out, next, err
}

// ClusterCounts are what DescribeClusters reports of a cluster's contents.
type ClusterCounts struct {
	Instances, Services, RunningTasks, PendingTasks int
}

// ClusterCounts counts the cluster's registered container instances, its
// services, and its tasks by state.
func (s *Store) ClusterCounts(name string) (ClusterCounts, error) {
	var c ClusterCounts
	for _, in := range s.ContainerInstances(name, nil) {
		if !IsPoolHost(in) { // Fargate pool hosts are not the user's; their tasks count
			c.Instances++
		}
		c.RunningTasks += int(in.RunningTasks)
		c.PendingTasks += int(in.PendingTasks)
	}
	for _, t := range s.LiveTasksOn(name, "") { // Fargate tasks waiting for capacity
		if t.Task.GetLastStatus() == TaskProvisioning {
			c.PendingTasks++
		}
	}
	c.Services = len(s.Services(name, func(r *berthv1.ServiceRecord) bool { return r.Service.GetStatus() == StatusActive }))
	return c, nil
}

// hasLiveServices reports whether the cluster has a service that is not
// INACTIVE.
func hasLiveServices(c *change, cluster string) bool {
	live := false
	scan(c.tx.Bucket(bucketServices), clusterPrefix(cluster), nil, false, func(k, v []byte) (bool, error) {
		rec, err := decodeService(v)
		if err != nil {
			return false, err
		}
		live = rec.Service.GetStatus() != StatusInactive
		return !live, nil
	})
	return live
}

// hasLiveTasks reports whether the cluster has a task that is not STOPPED.
func hasLiveTasks(c *change, cluster string) bool {
	live := false
	scan(c.tx.Bucket(bucketTasks), clusterPrefix(cluster), nil, false, func(k, v []byte) (bool, error) {
		rec, err := decodeTask(v)
		if err != nil {
			return false, err
		}
		live = rec.Task.GetLastStatus() != TaskStopped
		return !live, nil
	})
	return live
}
