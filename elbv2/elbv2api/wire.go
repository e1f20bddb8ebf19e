package elbv2api

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/elbv2"
	"github.com/berth/berth/store"
)

// SigningName is ELB's service in SigV4 credential scopes.
const SigningName = "elasticloadbalancing"

// XMLNamespace is the xmlns of ELB v2's query responses.
const XMLNamespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// Wire is ELB v2 on the AWS front door: the query protocol, signed for
// "elasticloadbalancing", each operation served by s's gRPC handler of the
// same name.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{
		Name: "elbv2", SigningName: SigningName, Protocols: []awsapi.Protocol{awsapi.Query}, XMLNamespace: XMLNamespace,
		Desc: &berthv1.ElasticLoadBalancingV2_ServiceDesc, Impl: s, Exception: Exception,
	}
}

// Exception is ELB's error code for an error on its query wire: the one
// package elbv2 chose, else the class's.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		if e.Exception == elbv2.InternalFailure {
			return e.Exception, 500
		}
		return e.Exception, 0
	}
	if e.Reason == store.ReasonStale {
		return "PriorRequestNotComplete", 429
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return elbv2.ValidationError, 0
	case apierr.FailedPrecondition:
		return elbv2.InvalidConfiguration, 0
	case apierr.Unimplemented:
		return "InvalidAction", 0
	}
	return elbv2.InternalFailure, 500
}
