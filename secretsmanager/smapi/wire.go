package smapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
)

// TargetPrefix precedes the operation name in X-Amz-Target on Secrets
// Manager's JSON wire (AWS JSON 1.1).
const TargetPrefix = "secretsmanager"

// Wire is Secrets Manager on the AWS front door: JSON 1.1, signed for
// "secretsmanager", each operation served by s's gRPC handler of the same
// name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "secretsmanager", SigningName: "secretsmanager", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: TargetPrefix,
		Desc: &berthv1.SecretsManager_ServiceDesc, Impl: s, Exception: Exception,
	}
}
