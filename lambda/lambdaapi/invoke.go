package lambdaapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/store"
)

// maxLogTail is the log Lambda returns with LogType Tail: its last 4 KB.
const maxLogTail = 4096

// responseTooLarge is the function error Lambda answers for a response
// over 6 MB.
func responseTooLarge(n int) []byte {
	b, _ := json.Marshal(map[string]string{
		"errorMessage": fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", n, lambda.MaxSyncPayload),
		"errorType":    "Function.ResponseSizeTooLarge",
	})
	return b
}

// checkPayload refuses a payload that is not JSON, as Lambda does.
func checkPayload(p []byte) error {
	if len(p) == 0 || json.Valid(p) {
		return nil
	}
	var v any
	err := json.Unmarshal(p, &v)
	e := apierr.New(apierr.InvalidArgument, lambda.InvalidRequestContent, "Could not parse request body into json: %v", err)
	e.Exception = lambda.InvalidRequestContent
	return e
}

// target resolves the function and qualifier of an invocation to the
// version that runs.
func (s *Server) target(field, name, qualifier string) (*berthv1.LambdaFunctionRecord, lambda.Target, error) {
	st, q, err := s.function(field, name, qualifier)
	if err != nil {
		return nil, lambda.Target{}, err
	}
	t, err := lambda.ResolveQualifier(s.names, st.Value, q, rand.Float64())
	if err != nil {
		return nil, t, err
	}
	return st.Value, t, lambda.CheckInvokable(t.Version.GetConfig())
}

// Invoke runs a function: RequestResponse through the Invoker, Event into
// the durable queue (202), DryRun checks only (204).
func (s *Server) Invoke(ctx context.Context, req *berthv1.LambdaInvokeRequest) (*berthv1.LambdaInvokeResponse, error) {
	typ := orDefault(req.GetInvocationType(), lambda.InvocationSync)
	switch typ {
	case lambda.InvocationSync, lambda.InvocationEvent, lambda.InvocationDryRun:
	default:
		return nil, lambda.Invalid("InvocationType", typ, "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if lt := req.GetLogType(); lt != "" && lt != "None" && lt != lambda.LogTail {
		return nil, lambda.Invalid("LogType", lt, "Member must satisfy enum value set: [None, Tail]")
	}
	if typ == lambda.InvocationEvent && len(req.GetPayload()) > lambda.MaxAsyncPayload {
		return nil, lambda.TooLarge(lambda.MaxAsyncPayload)
	}
	if len(req.GetPayload()) > lambda.MaxSyncPayload {
		return nil, lambda.TooLarge(lambda.MaxSyncPayload)
	}
	if err := checkPayload(req.GetPayload()); err != nil {
		return nil, err
	}
	if cc := req.GetClientContext(); cc != "" {
		if _, err := base64.StdEncoding.DecodeString(cc); err != nil || len(cc) > 3583 {
			return nil, lambda.InvalidParameter("ClientContext", "Client context must be a valid Base64-encoded JSON object of at most 3583 bytes.")
		}
	}
	f, t, err := s.target("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	version := t.Version.GetConfig().GetVersion()
	switch typ {
	case lambda.InvocationDryRun:
		return &berthv1.LambdaInvokeResponse{StatusCode: 204}, nil
	case lambda.InvocationEvent:
		q := version
		if t.Alias != nil {
			q = t.Alias.GetName() // the alias's routing is decided when it runs
		}
		if _, err := s.enqueue(ctx, f.GetName(), q, req.GetPayload(), "", ""); err != nil {
			return nil, err
		}
		return &berthv1.LambdaInvokeResponse{StatusCode: 202}, nil
	}
	res, err := s.run(ctx, f, t.Version, newID(), req.GetPayload(), req.GetLogType() == lambda.LogTail, req.GetClientContext())
	if err != nil {
		return nil, err
	}
	out := &berthv1.LambdaInvokeResponse{StatusCode: 200, Payload: res.Payload, FunctionError: res.FunctionError, ExecutedVersion: version}
	if req.GetLogType() == lambda.LogTail {
		log := res.Log
		if len(log) > maxLogTail {
			log = log[len(log)-maxLogTail:]
		}
		out.LogResult = base64.StdEncoding.EncodeToString(log)
	}
	return out, nil
}

// run invokes a version through the Invoker and keeps its usage.
func (s *Server) run(ctx context.Context, f *berthv1.LambdaFunctionRecord, v *berthv1.LambdaVersionRecord, requestID string, payload []byte, tail bool, clientContext string) (invoke.Result, error) {
	fn := s.runnable(f, v)
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	res, err := s.invoker().Invoke(ctx, invoke.Request{Function: fn, RequestID: requestID, Payload: payload, LogTail: tail, ClientContext: clientContext})
	if err != nil {
		return res, err
	}
	if len(res.Payload) > lambda.MaxSyncPayload {
		res.Payload, res.FunctionError = responseTooLarge(len(res.Payload)), lambda.FunctionErrorUnhandled
	}
	s.record(fn, requestID, res)
	return res, nil
}

// enqueue keeps an Event invocation in the durable queue, keyed so that
// keys sort in order of arrival.
func (s *Server) enqueue(ctx context.Context, name, qualifier string, payload []byte, source, trace string) (string, error) {
	now := s.now()
	key := eventKey(s.nextSeq(now))
	ev := &berthv1.LambdaEventRecord{FunctionName: name, Qualifier: qualifier, Payload: payload, RequestId: newID(),
		EnqueuedAt: float64(now.UnixNano()) / 1e9, Source: source, TraceHeader: trace}
	if _, err := s.events.Put(ctx, s.at(), key, ev, 0); err != nil {
		return "", err
	}
	s.wake()
	return ev.GetRequestId(), nil
}

// record keeps an invocation's usage: its duration, billed at 1 ms, and
// memory.
func (s *Server) record(fn invoke.Function, requestID string, res invoke.Result) {
	billed := int32((res.Duration + time.Millisecond - 1) / time.Millisecond)
	if billed < 1 {
		billed = 1
	}
	u := &berthv1.LambdaUsageRecord{FunctionArn: fn.ARN, RequestId: requestID, At: s.at(),
		DurationMs: float64(res.Duration) / float64(time.Millisecond), BilledMs: billed, MemoryMb: fn.MemoryMB,
		InitDurationMs: float64(res.InitDuration) / float64(time.Millisecond)}
	select {
	case s.usageQueue <- u:
	default:
		s.cfg.Logger.Warn("lambda: usage queue full, a record dropped", "function", fn.ARN, "request_id", requestID)
	}
}

// writeUsage stores the usage records record queued, until ctx ends.
func (s *Server) writeUsage(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-s.usageQueue:
			key := fmt.Sprintf("%020d-%s", int64(u.GetAt()*1e9), u.GetRequestId())
			if _, err := s.usage.Put(ctx, u.GetAt(), key, u, 0); err != nil && !apierr.HasReason(err, store.ReasonStale) && ctx.Err() == nil {
				s.cfg.Logger.Warn("lambda: usage record", "function", u.GetFunctionArn(), "err", err)
			}
		}
	}
}
