package ecsapi

import (
	"context"
	"strconv"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
)

// Berth implements berth's own API (berthv1.BerthServer) beside the ECS
// operations, over the same store and names.
type Berth struct {
	berthv1.UnimplementedBerthServer
	s *Server
	// Logs reaches the agents for GetTaskLogs; without it GetTaskLogs is
	// Unimplemented.
	Logs TaskLogSource
	// Exec reaches the agents for ExecTask; without it ExecTask is
	// Unimplemented.
	Exec TaskExecutor
}

// Berth returns berth's own API over the server's store.
func (s *Server) Berth() *Berth { return &Berth{s: s} }

// ExplainTask says why a task is on its instance: the placement explanation
// recorded when it was placed.
func (b *Berth) ExplainTask(ctx context.Context, req *berthv1.ExplainTaskRequest) (*berthv1.ExplainTaskResponse, error) {
	s := b.s
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	id, err := objectID("task", arn.TypeTask, cluster, req.GetTask())
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Task(cluster, id)
	if err != nil {
		return nil, err
	}
	out := &berthv1.ExplainTaskResponse{
		TaskArn: rec.Task.TaskArn, ContainerInstanceArn: rec.Task.ContainerInstanceArn,
		LastStatus: rec.Task.LastStatus, Group: rec.Task.Group, Placement: rec.Placement,
	}
	switch {
	case rec.Placement != nil:
	case rec.InstanceId == "":
		out.Note = "the task is not placed on an instance yet"
	default:
		out.Note = "no explanation was recorded: explanations are recorded for clusters of up to " +
			strconv.Itoa(s.placer.ExplainUpTo) + " instances"
	}
	return out, nil
}

// ExplainService says why a service has tasks it cannot place.
func (b *Berth) ExplainService(ctx context.Context, req *berthv1.ExplainServiceRequest) (*berthv1.ExplainServiceResponse, error) {
	s := b.s
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if req.GetService() == "" {
		return nil, ecserr.Param("service", "is required")
	}
	name, err := objectID("service", arn.TypeService, cluster, req.GetService())
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Service(cluster, name)
	if err != nil {
		return nil, err
	}
	return &berthv1.ExplainServiceResponse{ServiceArn: s.arns.Service(cluster, name), Failure: rec.PlacementFailure}, nil
}
