package ecsapi

import (
	"context"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// Task scale-in protection, as ECS's: a service task protected until a
// time is not stopped by the service scheduler's scale-in or deployments,
// nor its instance scaled in by managed scaling (ecs/service and
// ecs/capacity read TaskRecord.protection_expires_at).
const (
	defaultProtectionMinutes = 120
	maxProtectionMinutes     = 2880
	maxProtectionTasks       = 10  // UpdateTaskProtection
	maxProtectionReads       = 100 // GetTaskProtection

	// ECS's failure reason for a task that is not a service's (a missing
	// one's is reasonMissing).
	reasonTaskNotValid = "TASK_NOT_VALID"
)

// UpdateTaskProtection protects up to 10 of a cluster's service tasks from
// scale-in for expiresInMinutes (1-2880, default 120), or clears their
// protection. Each call sets the expiry anew. A task that does not exist,
// or is not a service's, or has stopped, is a failure.
func (s *Server) UpdateTaskProtection(ctx context.Context, req *berthv1.UpdateTaskProtectionRequest) (*berthv1.UpdateTaskProtectionResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	ids, err := objectIDs("tasks", arn.TypeTask, cluster, req.GetTasks(), maxProtectionTasks)
	if err != nil {
		return nil, err
	}
	if req.ProtectionEnabled == nil {
		return nil, ecserr.Param("protectionEnabled", "is required")
	}
	var expires float64
	switch m := req.ExpiresInMinutes; {
	case m != nil && !req.GetProtectionEnabled():
		return nil, ecserr.Param("expiresInMinutes", "can only be given with protectionEnabled true")
	case m != nil && (*m < 1 || *m > maxProtectionMinutes):
		return nil, ecserr.Param("expiresInMinutes", "must be between 1 and %d minutes, got %d", maxProtectionMinutes, *m)
	case req.GetProtectionEnabled():
		minutes := int32(defaultProtectionMinutes)
		if m != nil {
			minutes = *m
		}
		expires = epoch(s.now().Add(time.Duration(minutes) * time.Minute))
	}
	out := &berthv1.UpdateTaskProtectionResponse{}
	var valid []string
	for _, id := range ids {
		if f := s.protectionFailure(cluster, id, true); f != nil {
			out.Failures = append(out.Failures, f)
			continue
		}
		valid = append(valid, id)
	}
	if len(valid) == 0 {
		return out, nil
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateTaskProtection{UpdateTaskProtection: &berthv1.UpdateTaskProtectionCommand{
		Cluster: cluster, Ids: valid, ExpiresAt: expires,
	}}})
	if err != nil {
		return nil, err
	}
	for _, rec := range res.(*berthv1.TaskRecords).Tasks {
		out.ProtectedTasks = append(out.ProtectedTasks, s.protectedTask(rec))
	}
	return out, nil
}

// GetTaskProtection tells whether up to 100 of a cluster's service tasks are
// protected, and until when.
func (s *Server) GetTaskProtection(ctx context.Context, req *berthv1.GetTaskProtectionRequest) (*berthv1.GetTaskProtectionResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	ids, err := objectIDs("tasks", arn.TypeTask, cluster, req.GetTasks(), maxProtectionReads)
	if err != nil {
		return nil, err
	}
	out := &berthv1.GetTaskProtectionResponse{}
	for _, id := range ids {
		if f := s.protectionFailure(cluster, id, false); f != nil {
			out.Failures = append(out.Failures, f)
			continue
		}
		rec, _ := s.store.Task(cluster, id)
		out.ProtectedTasks = append(out.ProtectedTasks, s.protectedTask(rec))
	}
	return out, nil
}

// protectionFailure is ECS's failure for a task whose protection cannot be
// set (update) or read: missing, not a service's task, or (update) stopped.
func (s *Server) protectionFailure(cluster, id string, update bool) *berthv1.Failure {
	taskArn := s.arns.Task(cluster, id)
	rec, err := s.store.Task(cluster, id)
	switch {
	case err != nil:
		return &berthv1.Failure{Arn: taskArn, Reason: reasonMissing, Detail: "The task was not found."}
	case !strings.HasPrefix(rec.Task.GetGroup(), "service:"):
		return &berthv1.Failure{Arn: taskArn, Reason: reasonTaskNotValid, Detail: "The task is not part of an Amazon ECS service: task protection is only supported for tasks of a service."}
	case update && (rec.Task.GetLastStatus() == store.TaskStopped || rec.Task.GetDesiredStatus() == store.TaskStopped):
		return &berthv1.Failure{Arn: taskArn, Reason: reasonTaskNotValid, Detail: "The task is stopping or stopped."}
	}
	return nil
}

// protectedTask is a task's protection as ECS shows it: enabled with its
// expiry while it lasts, else not enabled.
func (s *Server) protectedTask(rec *berthv1.TaskRecord) *berthv1.ProtectedTask {
	pt := &berthv1.ProtectedTask{TaskArn: rec.Task.GetTaskArn()}
	if exp := rec.GetProtectionExpiresAt(); exp > epoch(s.now()) {
		pt.ProtectionEnabled, pt.ExpirationDate = true, exp
	}
	return pt
}
