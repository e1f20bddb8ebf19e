package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Container instance statuses.
const (
	StatusDraining = "DRAINING"
)

func instanceKey(cluster, id string) []byte { return append(clusterPrefix(cluster), id...) }

// activeCluster checks the cluster exists and is ACTIVE.
func activeCluster(c *change, name string) error {
	_, err := loadActiveCluster(c, name)
	return err
}

// loadActiveCluster reads a cluster that must exist and be ACTIVE.
func loadActiveCluster(c *change, name string) (*berthv1.Cluster, error) {
	cl := &berthv1.Cluster{}
	found, err := get(c.tx, bucketClusters, []byte(name), cl)
	if err != nil {
		return nil, err
	}
	if !found || cl.Status != StatusActive {
		return nil, clusterNotFound(name)
	}
	return cl, nil
}

// loadInstance reads an instance in the change's transaction.
func loadInstance(c *change, cluster, id string) (*berthv1.ContainerInstanceRecord, error) {
	rec := &berthv1.ContainerInstanceRecord{}
	found, err := get(c.tx, bucketInstances, instanceKey(cluster, id), rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, instanceNotFound(cluster, id)
	}
	// Interned here, not in putInstance: a registration's record holds the
	// command's attributes, which are not the change's to modify.
	c.strs.instance(rec)
	return rec, nil
}

func (c *change) putInstance(rec *berthv1.ContainerInstanceRecord) error {
	return c.put(KindContainerInstance, bucketInstances, instanceKey(rec.Cluster, rec.Id), rec)
}

// registerContainerInstance registers an agent's instance, or takes it back
// under its old id when the same ec2InstanceId registers again.
func registerContainerInstance(c *change, cmd *berthv1.RegisterContainerInstanceCommand) (proto.Message, error) {
	if err := activeCluster(c, cmd.GetCluster()); err != nil {
		return nil, err
	}
	in := cmd.GetInstance()
	rec, err := instanceByEC2ID(c, cmd.GetCluster(), in.GetEc2InstanceId())
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = &berthv1.ContainerInstanceRecord{
			Cluster: cmd.GetCluster(), Id: cmd.GetId(), Allocated: &berthv1.Resources{},
			Instance: &berthv1.ContainerInstance{Status: StatusActive, RegisteredAt: c.at},
		}
	}
	rec.Registered = cmd.GetRegistered()
	rec.Instance.Ec2InstanceId = in.GetEc2InstanceId()
	rec.Instance.VersionInfo = in.GetVersionInfo()
	rec.Instance.Attributes = mergeAttributes(rec.Instance.GetAttributes(), in.GetAttributes())
	rec.Instance.AgentConnected = true
	rec.Instance.Version++
	if err := c.putInstance(rec); err != nil {
		return nil, err
	}
	if err := indexInstance(c.tx, rec, false); err != nil {
		return nil, err
	}
	return rec, nil
}

// mergeAttributes sets each of set over have (same name replaces) and keeps
// the rest, so custom attributes survive an agent's re-registration.
func mergeAttributes(have, set []*berthv1.Attribute) []*berthv1.Attribute {
	out := make([]*berthv1.Attribute, 0, len(have)+len(set))
	names := make(map[string]int, len(have)+len(set))
	for _, a := range append(append([]*berthv1.Attribute{}, have...), set...) {
		if i, ok := names[a.GetName()]; ok {
			out[i] = a
			continue
		}
		names[a.GetName()] = len(out)
		out = append(out, a)
	}
	return out
}

// setAgentConnected records a session opening or closing; a closing one with
// a reason stops the instance's tasks (they are lost with their agent).
func setAgentConnected(c *change, cmd *berthv1.SetAgentConnectedCommand) (proto.Message, error) {
	rec, err := loadInstance(c, cmd.GetCluster(), cmd.GetId())
	if err != nil {
		return nil, err
	}
	rec.Instance.AgentConnected = cmd.GetConnected()
	if !cmd.GetConnected() && cmd.GetLostTasksReason() != "" {
		if err := stopInstanceTasks(c, rec, cmd.GetLostTasksReason()); err != nil {
			return nil, err
		}
	}
	if err := c.putInstance(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// updateContainerInstancesState sets ACTIVE or DRAINING on the instances
// that exist; the others are skipped (the caller reports them).
func updateContainerInstancesState(c *change, cmd *berthv1.UpdateContainerInstancesStateCommand) (proto.Message, error) {
	out := &berthv1.ContainerInstanceRecords{}
	for _, id := range cmd.GetIds() {
		rec, err := loadInstance(c, cmd.GetCluster(), id)
		if apierr.Is(err, apierr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Instance.Status != cmd.GetStatus() {
			rec.Instance.Status = cmd.GetStatus()
			rec.Instance.Version++
			if err := c.putInstance(rec); err != nil {
				return nil, err
			}
		}
		out.Instances = append(out.Instances, rec)
	}
	return out, nil
}

// deregisterContainerInstance removes an instance; refused while it has
// tasks unless force, which marks them STOPPED.
func deregisterContainerInstance(c *change, cmd *berthv1.DeregisterContainerInstanceCommand) (proto.Message, error) {
	rec, err := loadInstance(c, cmd.GetCluster(), cmd.GetId())
	if err != nil {
		return nil, err
	}
	if n := rec.RunningTasks + rec.PendingTasks; n > 0 && !cmd.GetForce() {
		return nil, refused(apierr.FailedPrecondition, "",
			"container instance %s has %d tasks that are not stopped: stop them first or deregister with force", rec.Id, n)
	}
	if err := stopInstanceTasks(c, rec, "Container instance deregistered"); err != nil {
		return nil, err
	}
	rec.Instance.Status = StatusInactive
	rec.Instance.AgentConnected = false
	if err := c.delete(KindContainerInstance, bucketInstances, instanceKey(rec.Cluster, rec.Id), rec); err != nil {
		return nil, err
	}
	if err := indexInstance(c.tx, rec, true); err != nil {
		return nil, err
	}
	return rec, nil
}

// putAttributes sets custom attributes on the instances they target.
func putAttributes(c *change, cmd *berthv1.PutAttributesCommand) (proto.Message, error) {
	byTarget := map[string][]*berthv1.Attribute{}
	var order []string
	for _, a := range cmd.GetAttributes() {
		if _, ok := byTarget[a.GetTargetId()]; !ok {
			order = append(order, a.GetTargetId())
		}
		byTarget[a.GetTargetId()] = append(byTarget[a.GetTargetId()], a)
	}
	recs := make([]*berthv1.ContainerInstanceRecord, len(order))
	for i, id := range order { // every target must exist before anything is written
		rec, err := loadInstance(c, cmd.GetCluster(), id)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	for i, rec := range recs {
		set := make([]*berthv1.Attribute, 0, len(byTarget[order[i]]))
		for _, a := range byTarget[order[i]] {
			set = append(set, &berthv1.Attribute{Name: a.GetName(), Value: a.GetValue()})
		}
		rec.Instance.Attributes = mergeAttributes(rec.Instance.Attributes, set)
		if err := c.putInstance(rec); err != nil {
			return nil, err
		}
	}
	return &berthv1.PutAttributesResponse{Attributes: cmd.GetAttributes()}, nil
}
