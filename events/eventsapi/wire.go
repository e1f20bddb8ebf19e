package eventsapi

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/awsapi/awsjson"
)

// TargetPrefix precedes the operation name in X-Amz-Target on
// EventBridge's JSON wire (AWS JSON 1.1).
const TargetPrefix = "AWSEvents"

// render: the members EventBridge writes when empty or zero.
var render = awsjson.Rule{
	"berth.v1.PutTargetsResponse":        {{Name: "FailedEntryCount"}, {Name: "FailedEntries"}},
	"berth.v1.RemoveTargetsResponse":     {{Name: "FailedEntryCount"}, {Name: "FailedEntries"}},
	"berth.v1.PutEventsResponse":         {{Name: "FailedEntryCount"}, {Name: "Entries"}},
	"berth.v1.ListRulesResponse":         {{Name: "Rules"}},
	"berth.v1.ListTargetsByRuleResponse": {{Name: "Targets"}},
	"berth.v1.TestEventPatternResponse":  {{Name: "Result"}},
}

// Wire is EventBridge on the AWS front door: JSON 1.1, signed for
// "events", each operation served by s's gRPC handler of the same name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "events", SigningName: "events", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: TargetPrefix,
		Desc: &berthv1.EventBridge_ServiceDesc, Impl: s, Exception: Exception, Render: render,
	}
}
