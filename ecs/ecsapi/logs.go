package ecsapi

import (
	"context"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
)

// TaskLogSource reaches the agent of a container instance for its tasks'
// output: the dispatcher, which holds the agents' sessions.
type TaskLogSource interface {
	// StreamTaskLogs asks the agent of instance (cluster, instanceID) for
	// req's output and sends it chunk by chunk until it is all sent or ctx
	// ends. An instance without a connected agent is FailedPrecondition.
	StreamTaskLogs(ctx context.Context, cluster, instanceID string, req *berthv1.LogsRequest, send func(*berthv1.TaskLogsChunk) error) error
}

// GetTaskLogs streams a task's container output from the agent that runs it.
func (b *Berth) GetTaskLogs(req *berthv1.GetTaskLogsRequest, stream berthv1.Berth_GetTaskLogsServer) error {
	s := b.s
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return err
	}
	id, err := objectID("task", arn.TypeTask, cluster, req.GetTask())
	if err != nil {
		return err
	}
	if req.GetTail() < 0 {
		return ecserr.Param("tail", "must not be negative (0 is all of the output)")
	}
	rec, err := s.store.Task(cluster, id)
	if err != nil {
		return err
	}
	if name := req.GetContainer(); name != "" {
		var names []string
		found := false
		for _, c := range rec.Task.GetContainers() {
			names = append(names, c.GetName())
			found = found || c.GetName() == name
		}
		if !found {
			return ecserr.Param("container", "task %s has no container named %q (it has %s)", rec.Task.GetTaskArn(), name, strings.Join(names, ", "))
		}
	}
	if rec.InstanceId == "" {
		return ecserr.New(ecserr.FailedPrecondition, ecserr.ClientException,
			"The task %s is not placed on a container instance yet: it has no output.", rec.Task.GetTaskArn())
	}
	if b.Logs == nil {
		return ecserr.New(ecserr.Unimplemented, ecserr.UnsupportedFeatureException, "This control plane does not reach agents for logs.")
	}
	logsReq := &berthv1.LogsRequest{
		TaskArn: rec.Task.GetTaskArn(), Container: req.GetContainer(), Follow: req.GetFollow(), Tail: req.GetTail(),
	}
	return b.Logs.StreamTaskLogs(stream.Context(), cluster, rec.InstanceId, logsReq, func(c *berthv1.TaskLogsChunk) error {
		return stream.Send(&berthv1.GetTaskLogsResponse{Container: c.GetContainer(), Stream: c.GetStream(), Data: c.GetData()})
	})
}
