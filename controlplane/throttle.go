package controlplane

import (
	"context"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/throttle"
)

// throttleCall refuses an ECS call over ECS's documented rates (package
// throttle) with ThrottlingException on the JSON wire and ResourceExhausted
// with a RetryInfo on gRPC; the aws CLI's and SDKs' retries then succeed.
// Without a limiter (Config.Throttle off) every call passes.
func (c *ControlPlane) throttleCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if c.limiter == nil || !strings.HasPrefix(info.FullMethod, ecsMethodPrefix) {
		return handler(ctx, req)
	}
	call := throttle.Call{Operation: strings.TrimPrefix(info.FullMethod, ecsMethodPrefix)}
	if r, ok := req.(*berthv1.RunTaskRequest); ok {
		call.FargateTasks, call.FargateSpotTasks = fargateLaunches(r)
	}
	ok, retryAfter := c.limiter.Allow(time.Now(), call)
	if ok {
		return handler(ctx, req)
	}
	c.metrics.throttled.WithLabelValues(call.Operation).Inc()
	e := apierr.New(apierr.ResourceExhausted, "Throttling", "Rate exceeded")
	e.Exception = "ThrottlingException"
	st := status.New(codes.ResourceExhausted, "Rate exceeded")
	if retryAfter > 0 {
		if withRetry, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)}); err == nil {
			st = withRetry
		}
	}
	return nil, &statusError{status: st, err: e}
}

// fargateLaunches counts the Fargate tasks a RunTask launches, On-Demand and
// Spot: all of them with launchType FARGATE; over a strategy of FARGATE and
// FARGATE_SPOT, each provider's base first, then the rest by weight (rounded
// up for each: a task of either draws on its bucket). A strategy left to the
// cluster's default counts as none: the call still draws on ECS's bucket.
func fargateLaunches(r *berthv1.RunTaskRequest) (onDemand, spot int) {
	n := int(max(r.GetCount(), 1))
	if r.GetLaunchType() == "FARGATE" {
		return n, 0
	}
	var got, weight [2]int
	total := 0 // every provider's weight: an EC2 provider's share is not Fargate's
	for _, item := range r.GetCapacityProviderStrategy() {
		w := int(max(item.GetWeight(), 0))
		total += w
		k, ok := map[string]int{"FARGATE": 0, "FARGATE_SPOT": 1}[item.GetCapacityProvider()]
		if !ok {
			continue
		}
		got[k] += min(int(max(item.GetBase(), 0)), n-got[0]-got[1])
		weight[k] += w
	}
	if rest := n - got[0] - got[1]; total > 0 {
		for k := range got {
			got[k] += (rest*weight[k] + total - 1) / total
		}
	}
	return min(got[0], n), min(got[1], n)
}
