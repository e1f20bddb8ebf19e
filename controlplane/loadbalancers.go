package controlplane

import (
	"context"
	"time"

	"github.com/berth/berth/ecs/servicecontroller"
	"github.com/berth/berth/elbv2/elbv2api"
)

// serviceTargets is the service controller's LoadBalancers over ELB v2.
type serviceTargets struct{ elb *elbv2api.Server }

func (s serviceTargets) Register(ctx context.Context, t servicecontroller.Target) error {
	return s.elb.EnsureTarget(ctx, t.TargetGroupArn, t.InstanceID, t.Port)
}

func (s serviceTargets) Deregister(ctx context.Context, t servicecontroller.Target) (time.Time, error) {
	return s.elb.ReleaseTarget(ctx, t.TargetGroupArn, t.InstanceID, t.Port)
}

func (s serviceTargets) TargetHealth(t servicecontroller.Target) string {
	return s.elb.TargetState(t.TargetGroupArn, t.InstanceID, t.Port)
}
