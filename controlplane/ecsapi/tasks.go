package ecsapi

import (
	"context"
	"fmt"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane/arn"
	"github.com/berth/berth/controlplane/ecserr"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// placeAttempts bounds how often RunTask re-places tasks that the store
// refused because another placement took the room first.
const placeAttempts = 3

// RunTask places count tasks with the scheduler and stores them PENDING on
// their instances; what cannot be placed comes back in failures.
func (s *Server) RunTask(ctx context.Context, req *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	p, err := s.planRunTask(req)
	if err != nil {
		return nil, err
	}
	strategies, constraints, err := placementRules(p.taskDef.TaskDefinition, req.GetPlacementStrategy(), req.GetPlacementConstraints())
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
	out := &berthv1.RunTaskResponse{}
	for attempt := 0; attempt < placeAttempts && count > 0; attempt++ {
		snap, ids := s.snapshot(p.cluster)
		result, err := snap.Place(p.schedulerRequest(count, strategies, constraints))
		if err != nil {
			return nil, ecserr.Param("placementStrategy", "%v", err)
		}
		for _, f := range result.Failures {
			out.Failures = append(out.Failures, placementFailure(f))
		}
		var tasks []*berthv1.TaskRecord
		for _, pl := range result.Placements {
			in := snap.Instances()[pl.Instance]
			tasks = append(tasks, s.newTask(p, ids[pl.InstanceARN], in.Attributes[scheduler.AttributeAvailabilityZone]))
		}
		placed, refused, err := s.storeTasks(ctx, p.cluster, tasks)
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, placed...)
		count = refused
	}
	if count > 0 {
		out.Failures = append(out.Failures, &berthv1.Failure{Reason: "RESOURCE:CONFLICT",
			Detail: fmt.Sprintf("%d tasks lost their places to concurrent placements %d times", count, placeAttempts)})
	}
	return out, nil
}

// planRunTask checks a RunTask request.
func (s *Server) planRunTask(req *berthv1.RunTaskRequest) (*taskPlan, error) {
	if req.GetLaunchType() != "" && len(req.GetCapacityProviderStrategy()) > 0 {
		return nil, ecserr.Param("launchType", "launchType and capacityProviderStrategy cannot both be given")
	}
	switch req.GetLaunchType() {
	case "", "EC2":
	case "FARGATE":
		return nil, notYet("RunTask with launchType FARGATE", withCapacity)
	case "EXTERNAL":
		return nil, ecserr.Param("launchType", "EXTERNAL is not supported: berth's instances are EC2-like")
	default:
		return nil, ecserr.Param("launchType", "must be EC2, FARGATE or EXTERNAL, not %q", req.GetLaunchType())
	}
	if len(req.GetCapacityProviderStrategy()) > 0 {
		return nil, notYet("RunTask with a capacityProviderStrategy", withCapacity)
	}
	if c := req.GetCount(); c < 0 || c > 10 {
		return nil, ecserr.Param("count", "must be between 1 and 10, got %d", c)
	}
	return s.plan(req.GetCluster(), req.GetTaskDefinition(), req.GetOverrides(), req.GetGroup(), req.GetStartedBy(), req.GetTags())
}

// plan checks what RunTask and StartTask share.
func (s *Server) plan(clusterParam, taskDef string, overrides *berthv1.TaskOverride, group, startedBy string, tags []*berthv1.Tag) (*taskPlan, error) {
	cluster, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil, err
	}
	rec, err := s.activeTaskDefinition(taskDef)
	if err != nil {
		return nil, err
	}
	td := rec.TaskDefinition
	if len(td.RequiresCompatibilities) > 0 && !includes(td.RequiresCompatibilities, "EC2") {
		return nil, ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException,
			"Task definition does not support launch_type EC2.")
	}
	if err := checkOverrides(td, overrides); err != nil {
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
	return &taskPlan{cluster: cluster, taskDef: rec, overrides: overrides, group: group,
		startedBy: startedBy, tags: tags, need: reservation(td, overrides)}, nil
}

// placementRules converts the request's strategies and constraints, plus the
// task definition's memberOf constraints, for the scheduler.
func placementRules(td *berthv1.TaskDefinition, ps []*berthv1.PlacementStrategy, pc []*berthv1.PlacementConstraint) ([]scheduler.Strategy, []scheduler.Constraint, error) {
	var strategies []scheduler.Strategy
	for i, st := range ps {
		s := scheduler.Strategy{Type: st.GetType(), Field: st.GetField()}
		if err := s.Validate(); err != nil {
			return nil, nil, ecserr.Param(fmt.Sprintf("placementStrategy[%d]", i), "%v", err)
		}
		strategies = append(strategies, s)
	}
	if err := scheduler.ValidateStrategies(strategies); err != nil {
		return nil, nil, ecserr.Param("placementStrategy", "%v", err)
	}
	var constraints []scheduler.Constraint
	add := func(path, typ, expr string) error {
		c := scheduler.Constraint{Type: typ, Expression: expr}
		var err error
		if typ == scheduler.ConstraintMemberOf {
			c, err = scheduler.MemberOf(expr)
		}
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			return ecserr.Param(path, "%v", err)
		}
		constraints = append(constraints, c)
		return nil
	}
	for i, c := range pc {
		if err := add(fmt.Sprintf("placementConstraints[%d]", i), c.GetType(), c.GetExpression()); err != nil {
			return nil, nil, err
		}
	}
	for i, c := range td.PlacementConstraints {
		if err := add(fmt.Sprintf("taskDefinition.placementConstraints[%d]", i), c.GetType(), c.GetExpression()); err != nil {
			return nil, nil, err
		}
	}
	if err := scheduler.ValidateConstraints(constraints); err != nil {
		return nil, nil, ecserr.Param("placementConstraints", "%v (the task definition's count too)", err)
	}
	return strategies, constraints, nil
}

// placementFailure is a scheduler failure as ECS reports it.
func placementFailure(f scheduler.Failure) *berthv1.Failure {
	out := &berthv1.Failure{Reason: f.Reason, Detail: f.Detail}
	if f.Closest != nil {
		out.Arn = f.Closest.ARN
	}
	return out
}

// storeTasks stores placed tasks; it returns them rendered and how many the
// store refused because their instance no longer had room.
func (s *Server) storeTasks(ctx context.Context, cluster string, tasks []*berthv1.TaskRecord) ([]*berthv1.Task, int, error) {
	if len(tasks) == 0 {
		return nil, 0, nil
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PlaceTasks{
		PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: cluster, Tasks: tasks},
	}})
	if err != nil {
		return nil, 0, err
	}
	result := res.(*berthv1.PlaceTasksResult)
	out := make([]*berthv1.Task, len(result.Placed))
	for i, t := range result.Placed {
		out[i] = t.Task
	}
	return out, len(result.Failures), nil
}

// StartTask starts one task on each named container instance (manual
// placement: no strategies; the instance must have room).
func (s *Server) StartTask(ctx context.Context, req *berthv1.StartTaskRequest) (*berthv1.StartTaskResponse, error) {
	p, err := s.plan(req.GetCluster(), req.GetTaskDefinition(), req.GetOverrides(), req.GetGroup(), req.GetStartedBy(), req.GetTags())
	if err != nil {
		return nil, err
	}
	ids, err := objectIDs("containerInstances", arn.TypeContainerInstance, p.cluster, req.GetContainerInstances(), 10)
	if err != nil {
		return nil, err
	}
	var tasks []*berthv1.TaskRecord
	out := &berthv1.StartTaskResponse{}
	for _, id := range ids {
		in, err := s.store.ContainerInstance(p.cluster, id)
		if err != nil {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.ContainerInstance(p.cluster, id), Reason: "MISSING"})
			continue
		}
		tasks = append(tasks, s.newTask(p, id, attribute(in, scheduler.AttributeAvailabilityZone)))
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PlaceTasks{
		PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: p.cluster, Tasks: tasks},
	}})
	if err != nil {
		return nil, err
	}
	result := res.(*berthv1.PlaceTasksResult)
	for _, t := range result.Placed {
		out.Tasks = append(out.Tasks, t.Task)
	}
	for _, f := range result.Failures {
		// Say which instance refused, not the task that was never made.
		for _, t := range tasks {
			if t.Task.TaskArn == f.Arn {
				f.Arn = t.Task.ContainerInstanceArn
			}
		}
		out.Failures = append(out.Failures, f)
	}
	return out, nil
}

func attribute(in *berthv1.ContainerInstanceRecord, name string) string {
	for _, a := range in.Instance.GetAttributes() {
		if a.GetName() == name {
			return a.GetValue()
		}
	}
	return ""
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
	recs := s.store.Tasks(cluster, func(t *berthv1.TaskRecord) bool { return t.Id > after && keep(t) })
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
	familyPrefix := "task-definition/" + req.GetFamily() + ":"
	return func(t *berthv1.TaskRecord) bool {
		task := t.Task
		return task.DesiredStatus == desired &&
			(instance == "" || t.InstanceId == instance) &&
			(req.GetFamily() == "" || strings.Contains(task.TaskDefinitionArn, familyPrefix)) &&
			(req.GetServiceName() == "" || task.Group == "service:"+req.GetServiceName()) &&
			(req.GetStartedBy() == "" || task.StartedBy == req.GetStartedBy()) &&
			(req.GetLaunchType() == "" || task.LaunchType == req.GetLaunchType())
	}, nil
}
