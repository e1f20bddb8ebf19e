package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Fargate pool hosts are container instances that carry the attribute
// PoolAttribute = PoolFargate (their agent registers it). Users never see
// them: the ECS API hides them, EC2 placement never uses them, and Fargate
// tasks run only on them.
const (
	PoolAttribute = "berth.pool"
	PoolFargate   = "fargate"
	// PoolHostAttribute carries the provisioner's host id, so the pool
	// manager can tell which registered instance is which host it started.
	PoolHostAttribute = "berth.pool-host"
)

// LaunchTypeFargate is the launch type of tasks that run on the pool.
const LaunchTypeFargate = "FARGATE"

// IsPoolHost reports whether an instance is a Fargate pool host.
func IsPoolHost(rec *berthv1.ContainerInstanceRecord) bool {
	return InstanceAttribute(rec, PoolAttribute) == PoolFargate
}

// InstanceAttribute is the value of an instance's attribute, or "".
func InstanceAttribute(rec *berthv1.ContainerInstanceRecord, name string) string {
	for _, a := range rec.GetInstance().GetAttributes() {
		if a.GetName() == name {
			return a.GetValue()
		}
	}
	return ""
}

// provisionTasks stores new tasks with no instance, PROVISIONING.
func provisionTasks(c *change, cmd *berthv1.ProvisionTasksCommand) (proto.Message, error) {
	if err := activeCluster(c, cmd.GetCluster()); err != nil {
		return nil, err
	}
	out := &berthv1.TaskRecords{}
	for _, t := range cmd.GetTasks() {
		if t.GetInstanceId() != "" {
			return nil, badParameter("tasks", "task %s: a provisioned task has no instance yet", t.GetId())
		}
		rec := proto.Clone(t).(*berthv1.TaskRecord)
		rec.Cluster = cmd.GetCluster()
		rec.Task.CreatedAt = c.at
		rec.Task.LastStatus = TaskProvisioning
		if err := c.putTask(rec); err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, rec)
	}
	return out, nil
}

// capacityFor says why the instance is not capacity for the waiting task,
// or "": a Fargate task runs on pool hosts only, a task of an EC2 capacity
// provider on that provider's instances only.
func capacityFor(in *berthv1.ContainerInstanceRecord, t *berthv1.Task) string {
	if t.GetLaunchType() == LaunchTypeFargate {
		if !IsPoolHost(in) {
			return "not a Fargate pool host"
		}
		return ""
	}
	if p := InstanceAttribute(in, ProviderAttribute); p != t.GetCapacityProviderName() {
		return "not an instance of capacity provider " + t.GetCapacityProviderName()
	}
	return ""
}

// assignTasks puts PROVISIONING tasks on instances (PENDING), re-checking
// that each task still waits and that it still fits on its host; the others
// come back as failures, unchanged.
func assignTasks(c *change, cmd *berthv1.AssignTasksCommand) (proto.Message, error) {
	out := &berthv1.AssignTasksResult{}
	instances := map[string]*berthv1.ContainerInstanceRecord{}
	for _, a := range cmd.GetAssignments() {
		rec, err := loadTask(c, cmd.GetCluster(), a.GetTaskId())
		if apierr.Is(err, apierr.NotFound) {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: a.GetTaskId(), Reason: "MISSING", Detail: "task is gone"})
			continue
		} else if err != nil {
			return nil, err
		}
		t := rec.Task
		if rec.InstanceId != "" || t.LastStatus != TaskProvisioning || t.DesiredStatus != TaskRunning {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.TaskArn, Reason: "STATUS", Detail: "task is no longer waiting for capacity"})
			continue
		}
		in := instances[a.GetInstanceId()]
		if in == nil {
			if in, err = loadInstance(c, cmd.GetCluster(), a.GetInstanceId()); apierr.Is(err, apierr.NotFound) {
				out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.TaskArn, Reason: "MISSING", Detail: "pool host is gone"})
				continue
			} else if err != nil {
				return nil, err
			}
			instances[a.GetInstanceId()] = in
		}
		if detail := capacityFor(in, t); detail != "" {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.TaskArn, Reason: "ATTRIBUTE", Detail: detail})
			continue
		}
		if reason := placeable(in, rec.GetReservation()); reason != "" {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.TaskArn, Reason: reason})
			continue
		}
		rec.InstanceId = in.Id
		rec.WaitingStrategy, rec.WaitingConstraints = nil, nil
		t.ContainerInstanceArn = a.GetContainerInstanceArn()
		rec.Placement = a.GetPlacement()
		t.LastStatus = TaskPending
		t.AvailabilityZone = InstanceAttribute(in, "ecs.availability-zone")
		t.Version++
		hold(in.Allocated, rec.Reservation)
		in.PendingTasks++
		if err := c.putTask(rec); err != nil {
			return nil, err
		}
		out.Assigned = append(out.Assigned, rec)
	}
	for _, in := range instances {
		if err := c.putInstance(in); err != nil {
			return nil, err
		}
	}
	return out, nil
}
