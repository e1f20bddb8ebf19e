package controlplane

import (
	"context"

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

// eventSource is src, or Lambda's API when src is nil.
func (c *ControlPlane) eventSource(src invoke.EventSource) invoke.EventSource {
	if src == nil {
		return lambdaEvents{c}
	}
	return src
}
