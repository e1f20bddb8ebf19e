package ecsapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// RunTask places count tasks with the scheduler and stores them PENDING on
// their instances; what cannot be placed comes back in failures.
func (s *Server) RunTask(ctx context.Context, req *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	if d := s.clusterDefaultStrategy(req.GetCluster(), req.GetLaunchType(), req.GetCapacityProviderStrategy()); len(d) > len(req.GetCapacityProviderStrategy()) {
		req = proto.Clone(req).(*berthv1.RunTaskRequest)
		req.CapacityProviderStrategy = d // the cluster's default
	}
	if isFargate(req.GetLaunchType(), req.GetCapacityProviderStrategy()) {
		return s.runFargateTask(ctx, req)
	}
	if len(req.GetCapacityProviderStrategy()) > 0 {
		return s.runProviderTask(ctx, req)
	}
	p, err := s.planRunTask(req)
	if err != nil {
		return nil, err
	}
	strategies, constraints, err := placement.Rules(p.TaskDef.TaskDefinition, req.GetPlacementStrategy(), req.GetPlacementConstraints())
	if err != nil {
		return nil, err
	}
	if len(strategies) == 0 {
		strategies = scheduler.DefaultRunTaskStrategies()
	}
	count := int(req.GetCount())
	if count == 0 {
		count = 1
	}
	res, err := s.placer.Place(ctx, p, count, strategies, constraints)
	if err != nil {
		return nil, ecserr.Param("placementStrategy", "%v", err)
	}
	out := &berthv1.RunTaskResponse{}
	for _, t := range res.Tasks {
		out.Tasks = append(out.Tasks, t.Task)
	}
	for _, f := range res.Failures {
		out.Failures = append(out.Failures, placement.Failure(f))
	}
	if res.Lost > 0 {
		out.Failures = append(out.Failures, &berthv1.Failure{Reason: "RESOURCE:CONFLICT",
			Detail: fmt.Sprintf("%d tasks lost their places to concurrent placements every time they were placed", res.Lost)})
	}
	return out, nil
}

// planRunTask checks a RunTask request.
func (s *Server) planRunTask(req *berthv1.RunTaskRequest) (*placement.Plan, error) {
	if req.GetLaunchType() != "" && len(req.GetCapacityProviderStrategy()) > 0 {
		return nil, ecserr.Param("launchType", "launchType and capacityProviderStrategy cannot both be given")
	}
	switch req.GetLaunchType() {
	case "", "EC2":
	case "EXTERNAL":
		return nil, ecserr.Param("launchType", "EXTERNAL is not supported: berth's instances are EC2-like")
	default:
		return nil, ecserr.Param("launchType", "must be EC2, FARGATE or EXTERNAL, not %q", req.GetLaunchType())
	}
	if c := req.GetCount(); c < 0 || c > 10 {
		return nil, ecserr.Param("count", "must be between 1 and 10, got %d", c)
	}
	return s.plan(req.GetCluster(), req.GetTaskDefinition(), req.GetOverrides(), req.GetGroup(), req.GetStartedBy(), req.GetTags(), "EC2", runTaskLaunch(req))
}

// plan checks what RunTask and StartTask share.
func (s *Server) plan(clusterParam, taskDef string, overrides *berthv1.TaskOverride, group, startedBy string, tags []*berthv1.Tag, launchType string, launch taskLaunch) (*placement.Plan, error) {
	if err := launch.check(); err != nil {
		return nil, err
	}
	cluster, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil, err
	}
	rec, err := s.activeTaskDefinition(taskDef)
	if err != nil {
		return nil, err
	}
	td := rec.TaskDefinition
	if len(td.RequiresCompatibilities) > 0 && !includes(td.RequiresCompatibilities, launchType) {
		return nil, ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException,
			"Task definition does not support launch_type %s.", launchType)
	}
	if err := checkOverrides(td, overrides, launchType); err != nil {
		return nil, err
	}
	if group == "" {
		group = "family:" + td.Family
	}
	if len(group) > 255 {
		return nil, ecserr.Param("group", "must be at most 255 characters")
	}
	if len(startedBy) > 128 {
		return nil, ecserr.Param("startedBy", "must be at most 128 characters")
	}
	if err := validateTags("tags", tags); err != nil {
		return nil, err
	}
	if tags, err = launch.withTags(rec, tags); err != nil {
		return nil, err
	}
	p := placement.NewPlan(cluster, rec, overrides, group, startedBy, tags)
	p.EnableExecuteCommand = launch.enableExecuteCommand
	return p, nil
}

// StartTask starts one task on each named container instance (manual
// placement: no strategies; the instance must have room).
func (s *Server) StartTask(ctx context.Context, req *berthv1.StartTaskRequest) (*berthv1.StartTaskResponse, error) {
	p, err := s.plan(req.GetCluster(), req.GetTaskDefinition(), req.GetOverrides(), req.GetGroup(), req.GetStartedBy(), req.GetTags(), "EC2",
		taskLaunch{volumeConfigurations: req.GetVolumeConfigurations(), enableExecuteCommand: req.GetEnableExecuteCommand(), propagateTags: req.GetPropagateTags()})
	if err != nil {
		return nil, err
	}
	ids, err := objectIDs("containerInstances", arn.TypeContainerInstance, p.Cluster, req.GetContainerInstances(), 10)
	if err != nil {
		return nil, err
	}
	placed, failures, err := s.placer.PlaceOn(ctx, p, ids)
	if err != nil {
		return nil, err
	}
	out := &berthv1.StartTaskResponse{Failures: failures}
	for _, t := range placed {
		out.Tasks = append(out.Tasks, t.Task)
	}
	return out, nil
}

// StopTask asks a task's agent to stop it (desiredStatus STOPPED, stopCode
// UserInitiated); it reaches STOPPED when the agent reports it.
func (s *Server) StopTask(ctx context.Context, req *berthv1.StopTaskRequest) (*berthv1.StopTaskResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	id, err := objectID("task", arn.TypeTask, cluster, req.GetTask())
	if err != nil {
		return nil, err
	}
	if len(req.GetReason()) > 255 {
		return nil, ecserr.Param("reason", "must be at most 255 characters")
	}
	reason := req.GetReason()
	if reason == "" {
		reason = "Task stopped by user"
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: cluster, Ids: []string{id}, StopCode: "UserInitiated", Reason: reason,
	}}})
	if err != nil {
		return nil, err
	}
	return &berthv1.StopTaskResponse{Task: res.(*berthv1.TaskRecords).Tasks[0].Task}, nil
}

// DescribeTasks describes up to 100 tasks; unknown ones are failures with
// reason MISSING.
func (s *Server) DescribeTasks(ctx context.Context, req *berthv1.DescribeTasksRequest) (*berthv1.DescribeTasksResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if err := validateInclude(req.GetInclude(), "TAGS"); err != nil {
		return nil, err
	}
	ids, err := objectIDs("tasks", arn.TypeTask, cluster, req.GetTasks(), 100)
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeTasksResponse{}
	withTags := includes(req.GetInclude(), "TAGS")
	for _, id := range ids {
		rec, err := s.store.Task(cluster, id)
		if err != nil {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.Task(cluster, id), Reason: "MISSING"})
			continue
		}
		t := rec.Task
		if !withTags && len(t.Tags) > 0 {
			t = cloneTask(t)
			t.Tags = nil
		}
		out.Tasks = append(out.Tasks, t)
	}
	return out, nil
}

// ListTasks lists task ARNs by id, filtered as ECS filters them; by default
// the tasks whose desiredStatus is RUNNING.
func (s *Server) ListTasks(ctx context.Context, req *berthv1.ListTasksRequest) (*berthv1.ListTasksResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	keep, err := taskFilter(cluster, req)
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	var recs []*berthv1.TaskRecord
	if svc := req.GetServiceName(); svc != "" { // the service's tasks, from the group index
		for _, t := range s.store.TasksOfGroup(cluster, "service:"+svc) {
			if t.Id > after && keep(t) && len(recs) <= limit {
				recs = append(recs, t)
			}
		}
	} else {
		recs = s.store.TasksPage(cluster, after, limit+1, keep)
	}
	out := &berthv1.ListTasksResponse{}
	for i, t := range recs {
		if i == limit {
			out.NextToken = token(recs[i-1].Id)
			break
		}
		out.TaskArns = append(out.TaskArns, t.Task.TaskArn)
	}
	return out, nil
}

// taskFilter checks ListTasks' filters and returns the predicate.
func taskFilter(cluster string, req *berthv1.ListTasksRequest) (func(*berthv1.TaskRecord) bool, error) {
	desired := req.GetDesiredStatus()
	switch desired {
	case "":
		desired = store.TaskRunning
	case store.TaskRunning, store.TaskPending, store.TaskStopped:
	default:
		return nil, ecserr.Param("desiredStatus", "must be RUNNING, PENDING or STOPPED, not %q", desired)
	}
	if req.GetFamily() != "" && req.GetServiceName() != "" {
		return nil, ecserr.Param("family", "family and serviceName cannot both be given")
	}
	if lt := req.GetLaunchType(); lt != "" && !includes([]string{"EC2", "FARGATE", "EXTERNAL"}, lt) {
		return nil, ecserr.Param("launchType", "must be EC2, FARGATE or EXTERNAL, not %q", lt)
	}
	instance := ""
	if req.GetContainerInstance() != "" {
		id, err := objectID("containerInstance", arn.TypeContainerInstance, cluster, req.GetContainerInstance())
		if err != nil {
			return nil, err
		}
		instance = id
	}
	// berth runs no ECS managed daemons: no task belongs to one.
	daemon := req.GetDaemonName()
	return func(t *berthv1.TaskRecord) bool {
		task := t.Task
		return daemon == "" && task.DesiredStatus == desired &&
			(instance == "" || t.InstanceId == instance) &&
			(req.GetFamily() == "" || t.Family == req.GetFamily()) &&
			(req.GetServiceName() == "" || task.Group == "service:"+req.GetServiceName()) &&
			(req.GetStartedBy() == "" || task.StartedBy == req.GetStartedBy()) &&
			(req.GetLaunchType() == "" || task.LaunchType == req.GetLaunchType())
	}, nil
}
