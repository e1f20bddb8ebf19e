package ecsapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/ecsjson"
)

// TargetPrefix precedes the operation name in X-Amz-Target on ECS's JSON
// wire (AWS JSON 1.1).
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// Wire is ECS on the AWS front door: ECS's JSON 1.1 protocol, signed for
// "ecs", each operation served by s's gRPC handler of the same name, its
// responses written as ECS writes them (ecsjson's rule).
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "ecs", SigningName: "ecs", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: TargetPrefix,
		Desc: &berthv1.ECS_ServiceDesc, Impl: s, Render: ecsjson.Rule,
		Exception: func(e *apierr.Error) (string, int) { return ecserr.Exception(e), 0 },
	}
}
