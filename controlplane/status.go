package controlplane

import (
	"context"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
)

// errorTable is how one AWS service names its errors: the exception of an
// error and the ErrorInfo domain gRPC statuses carry.
type errorTable struct {
	domain    string
	exception func(*apierr.Error) (string, int)
}

// errorTables are the AWS services' tables by gRPC service name
// ("berth.v1.ECS").
type errorTables map[string]errorTable

// newErrorTables takes the tables of the AWS services registered on the
// front door.
func newErrorTables(services ...awsapi.Service) errorTables {
	t := make(errorTables, len(services))
	for _, s := range services {
		if s.Desc != nil && s.Exception != nil {
			t[s.Desc.ServiceName] = errorTable{domain: s.SigningName + ".amazonaws.com", exception: s.Exception}
		}
	}
	return t
}

// status is the gRPC status of a domain error from method (a full method
// name, "/berth.v1.ECS/RunTask"). Its message is, for a method of an AWS
// service, the error's Message, the service's own text where it has one,
// and for berth's own APIs (agent sessions, berth.v1.Berth) berth's own
// words; its details are the standard
// ones, which clients that do not know them ignore: google.rpc.BadRequest
// with a field violation (berth's field path and rule) for an error about a
// request member, and, for a method of an AWS service, google.rpc.ErrorInfo
// whose reason is the exception the AWS wire sends ("ClientException",
// AWS's spelling rather than UPPER_SNAKE_CASE, so that it reads as in AWS's
// documentation), domain the service's ("ecs.amazonaws.com"), and metadata
// "detail" berth's own words when the message is the service's text.
func (t errorTables) status(method string, err error) *status.Status {
	switch err {
	case context.Canceled:
		return status.New(codes.Canceled, err.Error())
	case context.DeadlineExceeded:
		return status.New(codes.DeadlineExceeded, err.Error())
	}
	e := apierr.From(err)
	table, aws := t[serviceOf(method)]
	message := e.Message
	if !aws {
		message = e.Own() // berth's own APIs speak berth's words
	}
	st := status.New(grpcCodes[e.Class], message)
	var details []protoadapt.MessageV1
	if e.Field != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: e.Field, Description: e.Rule()},
		}})
	}
	if aws {
		name, _ := table.exception(e)
		info := &errdetails.ErrorInfo{Reason: name, Domain: table.domain}
		if e.Detail != "" {
			info.Metadata = map[string]string{"detail": e.Detail}
		}
		details = append(details, info)
	}
	if len(details) == 0 {
		return st
	}
	if withDetails, err := st.WithDetails(details...); err == nil {
		return withDetails
	}
	return st
}

// serviceOf is the gRPC service of a full method name.
func serviceOf(method string) string {
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return svc
}

var grpcCodes = map[apierr.Class]codes.Code{
	apierr.Internal:           codes.Internal,
	apierr.InvalidArgument:    codes.InvalidArgument,
	apierr.NotFound:           codes.NotFound,
	apierr.FailedPrecondition: codes.FailedPrecondition,
	apierr.AlreadyExists:      codes.AlreadyExists,
	apierr.Unauthenticated:    codes.Unauthenticated,
	apierr.PermissionDenied:   codes.PermissionDenied,
	apierr.ResourceExhausted:  codes.ResourceExhausted,
	apierr.Unimplemented:      codes.Unimplemented,
}
