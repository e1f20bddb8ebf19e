package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Task statuses berth stores.
const (
	TaskProvisioning = "PROVISIONING"
	TaskPending      = "PENDING"
	TaskRunning      = "RUNNING"
	// TaskDeactivating is a service task whose load balancer targets drain
	// (desiredStatus STOPPED) before its containers are told to stop; the
	// service controller moves it on to STOPPING when the delay ends.
	TaskDeactivating = "DEACTIVATING"
	TaskStopping     = "STOPPING"
	TaskStopped      = "STOPPED"
)

func taskKey(cluster, id string) []byte { return append(clusterPrefix(cluster), id...) }

func loadTask(c *change, cluster, id string) (*berthv1.TaskRecord, error) {
	rec := &berthv1.TaskRecord{}
	found, err := get(c.tx, bucketTasks, taskKey(cluster, id), rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, taskNotFound(cluster, id)
	}
	return rec, nil
}

// putTask stores rec, which the change owns (loaded or made by it), and
// interns it: it is the record the index will keep.
func (c *change) putTask(rec *berthv1.TaskRecord) error {
	c.strs.task(rec)
	if err := indexTask(c.tx, rec); err != nil {
		return err
	}
	return c.put(KindTask, bucketTasks, taskKey(rec.Cluster, rec.Id), rec)
}

// placeTasks stores each task on its instance if it still fits there; the
// ones that no longer fit (another placement took the room since the caller's
// snapshot) come back as failures, unstored.
func placeTasks(c *change, cmd *berthv1.PlaceTasksCommand) (proto.Message, error) {
	if err := activeCluster(c, cmd.GetCluster()); err != nil {
		return nil, err
	}
	out := &berthv1.PlaceTasksResult{}
	instances := map[string]*berthv1.ContainerInstanceRecord{}
	for _, t := range cmd.GetTasks() {
		in := instances[t.GetInstanceId()]
		if in == nil {
			var err error
			if in, err = loadInstance(c, cmd.GetCluster(), t.GetInstanceId()); apierr.Is(err, apierr.NotFound) {
				out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.GetTask().GetTaskArn(), Reason: "MISSING", Detail: "container instance is gone"})
				continue
			} else if err != nil {
				return nil, err
			}
			instances[t.GetInstanceId()] = in
		}
		if reason := placeable(in, t.GetReservation()); reason != "" {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: t.GetTask().GetTaskArn(), Reason: reason})
			continue
		}
		rec := proto.Clone(t).(*berthv1.TaskRecord)
		rec.Cluster = cmd.GetCluster()
		rec.Task.CreatedAt = c.at
		hold(in.Allocated, rec.Reservation)
		in.PendingTasks++
		if err := c.putTask(rec); err != nil {
			return nil, err
		}
		out.Placed = append(out.Placed, rec)
	}
	for _, in := range instances {
		if err := c.putInstance(in); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placeable says why a task cannot go on the instance now, or "".
func placeable(in *berthv1.ContainerInstanceRecord, need *berthv1.Resources) string {
	switch {
	case in.Instance.GetStatus() != StatusActive:
		return "STATUS"
	case !in.Instance.GetAgentConnected():
		return "AGENT"
	}
	return lacks(in.Registered, in.Allocated, need)
}

// stopTasks sets desiredStatus STOPPED; tasks already stopping keep their
// first stop code and reason. A task on no instance stops at once.
func stopTasks(c *change, cmd *berthv1.StopTasksCommand) (proto.Message, error) {
	recs := make([]*berthv1.TaskRecord, 0, len(cmd.GetIds()))
	for _, id := range cmd.GetIds() { // all must exist before anything is written
		rec, err := loadTask(c, cmd.GetCluster(), id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	for _, rec := range recs {
		t := rec.Task
		if t.DesiredStatus != TaskStopped {
			t.DesiredStatus = TaskStopped
			t.StopCode = cmd.GetStopCode()
			t.StoppedReason = cmd.GetReason()
			t.StoppingAt = c.at
			t.Version++
			if rec.InstanceId == "" { // waiting for capacity (Fargate): nothing runs yet
				moveTask(nil, rec, TaskStopped, c.at)
			}
			if err := c.putTask(rec); err != nil {
				return nil, err
			}
		}
	}
	return &berthv1.TaskRecords{Tasks: recs}, nil
}

// stopInstanceTasks marks every task of the instance that is not STOPPED as
// STOPPED now, with reason, and frees what they held (the instance record is
// changed in memory; the caller stores it).
func stopInstanceTasks(c *change, in *berthv1.ContainerInstanceRecord, reason string) error {
	recs, err := liveTasksOn(c, in.Cluster, in.Id)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		t := rec.Task
		if t.DesiredStatus != TaskStopped {
			t.StoppedReason = reason
		}
		t.DesiredStatus = TaskStopped
		for _, ct := range t.Containers {
			if ct.LastStatus != TaskStopped {
				ct.LastStatus = TaskStopped
				ct.Reason = reason
			}
		}
		moveTask(in, rec, TaskStopped, c.at)
		if err := c.putTask(rec); err != nil {
			return err
		}
	}
	return nil
}

// moveTask sets a task's lastStatus and keeps its instance's counts and
// allocation in step.
func moveTask(in *berthv1.ContainerInstanceRecord, rec *berthv1.TaskRecord, status string, at float64) {
	t := rec.Task
	from := t.LastStatus
	if from == status {
		return
	}
	if in != nil {
		switch from {
		case TaskRunning:
			in.RunningTasks--
		case TaskStopped:
		default:
			in.PendingTasks--
		}
		switch status {
		case TaskRunning:
			in.RunningTasks++
		case TaskStopped:
			release(in.Allocated, rec.Reservation)
		default:
			in.PendingTasks++
		}
	}
	t.LastStatus = status
	t.Version++
	if status == TaskStopped {
		t.DesiredStatus = TaskStopped // a stopped task is never wanted again, as in ECS
		if t.StoppedAt == 0 {
			t.StoppedAt = at
		}
	}
}

// updateTaskStates applies an agent's report. Changes for tasks that are not
// the instance's (or are gone) are ignored, as is any change to a task that
// is already STOPPED: STOPPED is final.
func updateTaskStates(c *change, cmd *berthv1.UpdateTaskStatesCommand) (proto.Message, error) {
	in, err := loadInstance(c, cmd.GetCluster(), cmd.GetInstanceId())
	if err != nil {
		return nil, err
	}
	out := &berthv1.TaskRecords{}
	for _, ch := range cmd.GetChanges() {
		rec, err := loadTask(c, cmd.GetCluster(), taskID(ch.GetTaskArn()))
		if apierr.Is(err, apierr.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.InstanceId != in.Id || rec.Task.LastStatus == TaskStopped {
			continue
		}
		// A report of what is already stored (an agent that reconnects tells
		// its tasks' states again) writes nothing: 10,000 agents back after a
		// restart rewrote their 100,000 tasks, and the commits took 0.8 s each.
		was := proto.Clone(rec.Task)
		applyTaskChange(in, rec, ch, c.at)
		if proto.Equal(was, rec.Task) {
			continue
		}
		if err := c.putTask(rec); err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, rec)
	}
	if len(out.Tasks) == 0 {
		return out, nil // the instance's counts move only with its tasks
	}
	if err := c.putInstance(in); err != nil {
		return nil, err
	}
	return out, nil
}

// taskID is the last part of a task ARN (or the id itself).
func taskID(arnOrID string) string {
	for i := len(arnOrID) - 1; i >= 0; i-- {
		if arnOrID[i] == '/' {
			return arnOrID[i+1:]
		}
	}
	return arnOrID
}

// applyTaskChange copies what the agent reported onto the task.
func applyTaskChange(in *berthv1.ContainerInstanceRecord, rec *berthv1.TaskRecord, ch *berthv1.TaskStateChange, at float64) {
	t := rec.Task
	setIf := func(dst *float64, v float64) {
		if v != 0 {
			*dst = v
		}
	}
	setIf(&t.PullStartedAt, ch.PullStartedAt)
	setIf(&t.PullStoppedAt, ch.PullStoppedAt)
	setIf(&t.StartedAt, ch.StartedAt)
	setIf(&t.StoppingAt, ch.StoppingAt)
	setIf(&t.ExecutionStoppedAt, ch.ExecutionStoppedAt)
	if ch.HealthStatus != "" {
		t.HealthStatus = ch.HealthStatus
	}
	if ch.StopCode != "" && t.StopCode == "" {
		t.StopCode = ch.StopCode
	}
	if ch.StoppedReason != "" && t.StoppedReason == "" {
		t.StoppedReason = ch.StoppedReason
	}
	// A task the agent stops by itself (an essential container exited, it
	// failed to start) is no longer wanted, as ECS shows at once: its
	// desiredStatus is STOPPED, so a later StopTask keeps the first reason.
	if t.DesiredStatus != TaskStopped && (ch.StopCode != "" || ch.LastStatus == TaskStopping) {
		t.DesiredStatus = TaskStopped
		if t.StoppingAt == 0 {
			t.StoppingAt = at
		}
	}
	for _, cc := range ch.Containers {
		for _, ct := range t.Containers {
			if ct.Name == cc.Name {
				applyContainerChange(ct, cc)
			}
		}
	}
	if ch.LastStatus != "" && !stillDeactivating(t, ch.LastStatus) {
		moveTask(in, rec, ch.LastStatus, at)
	}
}

// stillDeactivating says an agent's report of a task it still runs (it
// knows nothing of the load balancer's draining) leaves a DEACTIVATING task
// as it is: only STOPPING or STOPPED move it on.
func stillDeactivating(t *berthv1.Task, reported string) bool {
	return t.LastStatus == TaskDeactivating && reported != TaskStopping && reported != TaskStopped && reported != TaskDeactivating
}

func applyContainerChange(ct *berthv1.Container, cc *berthv1.ContainerStateChange) {
	if cc.RuntimeId != "" {
		ct.RuntimeId = cc.RuntimeId
	}
	if cc.LastStatus != "" {
		ct.LastStatus = cc.LastStatus
	}
	if cc.ExitCode != nil {
		ct.ExitCode = proto.Int32(cc.GetExitCode())
	}
	if cc.Reason != "" {
		ct.Reason = cc.Reason
	}
	if len(cc.NetworkBindings) > 0 {
		ct.NetworkBindings = cc.NetworkBindings
	}
	if cc.HealthStatus != "" {
		ct.HealthStatus = cc.HealthStatus
	}
	if cc.ImageDigest != "" {
		ct.ImageDigest = cc.ImageDigest
	}
}
