package controlplane

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/events/lineage"
	"github.com/berth/berth/lambda/invoke"
)

// lambdaEvents is Lambda's API as the invoke.EventSource of S3's
// notifications, EventBridge's targets and schedules. S3 and the bus are
// made before Lambda's API, so it is looked up at each call; calls come
// only once the control plane serves, after Start made it.
type lambdaEvents struct{ c *ControlPlane }

func (l lambdaEvents) CheckPermission(ctx context.Context, req invoke.EventRequest) error {
	return l.c.lambda.CheckPermission(ctx, req)
}

func (l lambdaEvents) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	return l.c.lambda.InvokeEvent(ctx, req)
}

// eventSource is src, or Lambda's API when src is nil, behind Lambda's
// recursive loop detection: an invocation made for an event that a chain
// of 16 invocations made is stopped, logged and counted
// (berth_lambda_recursive_loops_stopped_total).
func (c *ControlPlane) eventSource(src invoke.EventSource) invoke.EventSource {
	if src == nil {
		src = lambdaEvents{c}
	}
	if c.recursion == nil {
		c.recursion = new(atomic.Int64)
		stopped := c.recursion.Load
		if c.metrics != nil {
			c.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "berth_lambda_recursive_loops_stopped_total",
				Help: "Event invocations Lambda's recursive loop detection stopped (a chain past 16 invocations).",
			}, func() float64 { return float64(stopped()) }))
		}
	}
	return &lineage.Guard{Next: src, Logger: c.log, Stops: c.recursion}
}
