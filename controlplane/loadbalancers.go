package controlplane

import (
	"context"
	"time"

	"github.com/berth/berth/ecs/servicecontroller"
	"github.com/berth/berth/elbv2/elbv2api"
)

// serviceTargets is the service controller's LoadBalancers over ELB v2. A
// target group that berth's ELB does not hold (a service written for a load
// balancer elsewhere) gates nothing: its tasks are registered nowhere and
// count as healthy, as tasks without a load balancer do.
type serviceTargets struct{ elb *elbv2api.Server }

func (s serviceTargets) Register(ctx context.Context, t servicecontroller.Target) error {
	if !s.elb.HasTargetGroup(t.TargetGroupArn) {
		return nil
	}
	return s.elb.EnsureTarget(ctx, t.TargetGroupArn, t.InstanceID, t.Port)
}

func (s serviceTargets) Deregister(ctx context.Context, t servicecontroller.Target) (time.Time, error) {
	if !s.elb.HasTargetGroup(t.TargetGroupArn) {
		return time.Time{}, nil
	}
	return s.elb.ReleaseTarget(ctx, t.TargetGroupArn, t.InstanceID, t.Port)
}

func (s serviceTargets) TargetHealth(t servicecontroller.Target) string {
	if !s.elb.HasTargetGroup(t.TargetGroupArn) {
		return "healthy"
	}
	return s.elb.TargetState(t.TargetGroupArn, t.InstanceID, t.Port)
}
