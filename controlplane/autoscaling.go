package controlplane

import (
	"context"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/autoscaling/aasapi"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/ecs/taskmetrics"
)

// taskMetricsSink is the dispatcher's hook for the task usage heartbeats
// carry: it keeps them in the control plane's window of task metrics.
func (c *ControlPlane) taskMetricsSink() func(string, []*berthv1.TaskMetrics) {
	if c.taskMetrics == nil {
		c.taskMetrics = taskmetrics.New(0, 0, 0)
	}
	tm := c.taskMetrics
	return func(instance string, ms []*berthv1.TaskMetrics) {
		now := time.Now()
		for _, m := range ms {
			if !strings.HasPrefix(m.GetTaskArn(), "arn:") {
				continue
			}
			tm.Add(m.GetTaskArn(), taskmetrics.Sample{At: now, Instance: instance,
				CPUUsed: m.GetCpuUsed(), CPUReserve: m.GetCpuReserved(), MemUsed: m.GetMemoryUsedMib(), MemReserve: m.GetMemoryReservedMib()})
		}
	}
}

// startAutoscaling makes Application Auto Scaling over the store, the task
// metrics the agents report and the load balancers' request counts; its
// scaling goes through ECS's UpdateService in-process.
func (c *ControlPlane) startAutoscaling(cfg Config, api *ecsapi.Server) {
	if c.taskMetrics == nil {
		c.taskMetrics = taskmetrics.New(0, 0, 0)
	}
	var requests aasapi.RequestCounter
	if c.lbProxy != nil {
		if m := c.lbProxy.Metrics(); m != nil {
			requests = m.TargetGroupCounts
		}
	}
	c.autoscaling = aasapi.New(aasapi.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Metrics: c.taskMetrics, ECS: api,
		Requests: requests, EvaluationPeriod: cfg.AutoscalingPeriod,
	})
}

// runAutoscaling starts the loop that evaluates scaling policies.
func (c *ControlPlane) runAutoscaling(ctx context.Context) {
	c.loops.Add(1)
	go func() { defer c.loops.Done(); _ = c.autoscaling.Run(ctx) }()
}

// Autoscaling is Application Auto Scaling's server.
func (c *ControlPlane) Autoscaling() *aasapi.Server { return c.autoscaling }

// TaskMetrics is the window of the usage agents report for their tasks.
func (c *ControlPlane) TaskMetrics() *taskmetrics.Store { return c.taskMetrics }
