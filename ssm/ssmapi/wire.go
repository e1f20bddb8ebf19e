package ssmapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
)

// TargetPrefix precedes the operation name in X-Amz-Target on SSM's JSON
// wire (AWS JSON 1.1).
const TargetPrefix = "AmazonSSM"

// Wire is SSM on the AWS front door: JSON 1.1, signed for "ssm", each
// operation served by s's gRPC handler of the same name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "ssm", SigningName: "ssm", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: TargetPrefix,
		Desc: &berthv1.SSM_ServiceDesc, Impl: s, Exception: Exception,
	}
}
