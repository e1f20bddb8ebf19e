package aasapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/store"
)

// TargetPrefix precedes the operation name in X-Amz-Target on Application
// Auto Scaling's JSON wire (AWS JSON 1.1).
const TargetPrefix = "AnyScaleFrontendService"

// render: the members Application Auto Scaling writes when empty.
var render = awsjson.Rule{
	"berth.v1.DescribeScalableTargetsResponse":   {{Name: "ScalableTargets"}},
	"berth.v1.DescribeScalingPoliciesResponse":   {{Name: "ScalingPolicies"}},
	"berth.v1.DescribeScalingActivitiesResponse": {{Name: "ScalingActivities"}},
}

// Wire is Application Auto Scaling on the AWS front door: JSON 1.1, signed
// for "application-autoscaling", each operation served by s's gRPC handler
// of the same name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "application-autoscaling", SigningName: "application-autoscaling", Protocols: []awsapi.Protocol{awsapi.JSON11},
		TargetPrefix: TargetPrefix, Desc: &berthv1.ApplicationAutoScaling_ServiceDesc, Impl: s, Exception: Exception, Render: render,
	}
}

// Exception is Application Auto Scaling's exception name for an error: the
// one this package chose, else by class.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		return e.Exception, 0
	}
	if e.Reason == store.ReasonStale {
		return autoscaling.ConcurrentUpdateException, 0
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return autoscaling.ValidationException, 0
	case apierr.NotFound:
		return autoscaling.ObjectNotFoundException, 0
	case apierr.FailedPrecondition, apierr.ResourceExhausted:
		return autoscaling.ConcurrentUpdateException, 0
	}
	return autoscaling.InternalServiceException, 0
}
