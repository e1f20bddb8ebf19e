package lambdaapi

import (
	"context"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/lambda/invoke"
)

var _ invoke.EventSource = (*Server)(nil)

// CheckPermission tells whether the function exists and its resource-based
// policy (of the qualifier named, or the function's) lets the principal
// invoke it for the source.
func (s *Server) CheckPermission(ctx context.Context, req invoke.EventRequest) error {
	_, _, err := s.permitted(req)
	return err
}

func (s *Server) permitted(req invoke.EventRequest) (name, qualifier string, err error) {
	st, q, err := s.function("FunctionName", req.Function, "")
	if err != nil {
		return "", "", err
	}
	if q != "" {
		if _, err := lambda.ResolveQualifier(s.names, st.Value, q, 1); err != nil {
			return "", "", err
		}
	}
	stmts, err := lambda.ParseStatements(st.Value.GetPolicy())
	if err != nil {
		return "", "", err
	}
	c := lambda.Caller{Principal: req.Principal, SourceArn: req.SourceArn, SourceAccount: req.SourceAccount, Action: lambda.ActionInvokeFunction}
	resource := s.names.QualifiedARN(st.Value.GetName(), q)
	if !lambda.Allows(stmts, resource, c) {
		e := apierr.New(apierr.PermissionDenied, "", "%s is not authorized to perform: lambda:InvokeFunction on resource: %s because no resource-based policy allows the lambda:InvokeFunction action", orDefault(req.Principal, "the caller"), resource)
		e.Exception = lambda.AccessDeniedException
		return "", "", e
	}
	return st.Value.GetName(), q, nil
}

// InvokeEvent queues an Event invocation for another service, after
// CheckPermission's check; once it returns nil the event survives a
// restart.
func (s *Server) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	if len(req.Payload) > lambda.MaxAsyncPayload {
		return lambda.TooLarge(lambda.MaxAsyncPayload)
	}
	name, q, err := s.permitted(req)
	if err != nil {
		return err
	}
	_, err = s.enqueue(ctx, name, q, req.Payload, req.Principal, req.TraceHeader)
	return err
}
