package ecrapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecr/ecrerr"
)

// TargetPrefix precedes the operation name in X-Amz-Target on ECR's JSON
// wire (AWS JSON 1.1).
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

// Wire is ECR on the AWS front door: ECR's JSON 1.1 protocol, signed for
// "ecr", each operation served by s's gRPC handler of the same name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "ecr", SigningName: "ecr", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: TargetPrefix,
		Desc: &berthv1.ECR_ServiceDesc, Impl: s,
		Exception: ecrerr.Exception, Render: render,
	}
}

// render writes the members ECR sends when empty: a preview that expires
// nothing still has its previewResults list and its count.
var render = awsjson.Rule{
	"berth.v1.GetLifecyclePolicyPreviewResponse": {{Name: "previewResults"}, {Name: "summary"}},
	"berth.v1.LifecyclePolicyPreviewSummary":     {{Name: "expiringImageTotalCount"}},
}
