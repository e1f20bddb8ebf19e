package lambdaapi

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/store"
)

// runEvents is the event worker: it runs the queued Event invocations that
// are due, in order of arrival, at most EventWorkers at once, until ctx
// ends; it returns once those it started returned.
func (s *Server) runEvents(ctx context.Context) {
	var (
		mu       sync.Mutex
		inFlight = map[string]bool{}
		wg       sync.WaitGroup
	)
	slots := make(chan struct{}, s.cfg.EventWorkers)
	defer wg.Wait()
	s.loop(ctx, s.kickEvents, func(ctx context.Context) {
		now := s.now()
		var due []store.Stored[*berthv1.LambdaEventRecord]
		err := s.events.List("", "", func(r store.Stored[*berthv1.LambdaEventRecord]) bool {
			mu.Lock()
			busy := inFlight[r.Key]
			mu.Unlock()
			if !busy && float64(now.UnixNano())/1e9 >= r.Value.GetNextAttemptAt() {
				due = append(due, r)
			}
			return len(due) < 4*s.cfg.EventWorkers
		})
		if err != nil {
			s.cfg.Logger.Error("lambda: read the event queue", "err", err)
			return
		}
		for _, r := range due {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			mu.Lock()
			inFlight[r.Key] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				s.runEvent(ctx, r)
				mu.Lock()
				delete(inFlight, r.Key)
				mu.Unlock()
			}()
		}
	})
}

// runEvent makes one attempt at a queued event and decides what follows:
// done, another attempt later, or the on-failure destination.
func (s *Server) runEvent(ctx context.Context, r store.Stored[*berthv1.LambdaEventRecord]) {
	ev := r.Value
	log := s.cfg.Logger.With("function", ev.GetFunctionName(), "request_id", ev.GetRequestId())
	st, ok, err := s.functions.Get(ev.GetFunctionName())
	if err != nil {
		log.Error("lambda: event's function", "err", err)
		return
	}
	if !ok {
		log.Warn("lambda: event dropped: its function was deleted")
		s.finish(ctx, r, nil)
		return
	}
	f := st.Value
	enqueued := time.Unix(0, int64(ev.GetEnqueuedAt()*1e9))
	cfg := f.GetEventInvokeConfigs()[eventConfigKey(ev.GetQualifier())]
	now := s.now()
	if lambda.Expired(cfg, enqueued, now) {
		s.fail(ctx, r, f, cfg, "EventAgeExceeded", nil)
		return
	}
	t, err := lambda.ResolveQualifier(s.names, f, ev.GetQualifier(), randFloat())
	if err == nil {
		err = lambda.CheckInvokable(t.Version.GetConfig())
	}
	if err != nil {
		if apierr.Is(err, apierr.NotFound) {
			log.Warn("lambda: event dropped", "err", err)
			s.finish(ctx, r, nil)
			return
		}
		s.later(ctx, r, now.Add(s.cfg.RetryBase)) // Pending: try again without counting an attempt
		return
	}
	res, err := s.run(invoke.WithTrace(ctx, ev.GetTraceHeader()), f, t.Version, ev.GetRequestId(), ev.GetPayload(), false, "")
	if ctx.Err() != nil {
		return // shutting down: the event stays queued for the next start
	}
	attempts := ev.GetAttempts() + 1
	if err == nil && res.FunctionError == "" {
		s.succeed(ctx, r, f, cfg, t.Version.GetConfig().GetVersion(), res.Payload)
		return
	}
	throttled := apierr.Is(err, apierr.ResourceExhausted)
	if err != nil && !throttled {
		log.Warn("lambda: event invocation failed", "err", err)
	}
	d := lambda.DecideRetry(cfg, attempts, throttled, enqueued, now, s.cfg.RetryBase)
	if d.Drop {
		response := &invocationResponse{StatusCode: 200, ExecutedVersion: t.Version.GetConfig().GetVersion(), FunctionError: res.FunctionError, Payload: res.Payload}
		if err != nil {
			response = nil
		}
		next := cloneEvent(ev)
		next.Attempts = attempts
		r.Value = next
		s.fail(ctx, r, f, cfg, "RetriesExhausted", response)
		return
	}
	next := cloneEvent(ev)
	if !throttled {
		next.Attempts = attempts
	}
	r.Value = next
	s.later(ctx, r, d.After)
}

// later puts the event back with its next attempt's time.
func (s *Server) later(ctx context.Context, r store.Stored[*berthv1.LambdaEventRecord], at time.Time) {
	next := cloneEvent(r.Value)
	next.NextAttemptAt = float64(at.UnixNano()) / 1e9
	if _, err := s.events.Put(ctx, s.at(), r.Key, next, r.Generation); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("lambda: requeue an event", "request_id", r.Value.GetRequestId(), "err", err)
	}
}

// finish removes the event from the queue, and queues extra (a
// destination's event) in the same write.
func (s *Server) finish(ctx context.Context, r store.Stored[*berthv1.LambdaEventRecord], extra *berthv1.DocumentWrite) {
	writes := []*berthv1.DocumentWrite{s.events.DeleteWrite(r.Key, r.Generation)}
	if extra != nil {
		writes = append(writes, extra)
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Error("lambda: finish an event", "request_id", r.Value.GetRequestId(), "err", err)
	}
	if extra != nil {
		s.wake()
	}
}

// invocationResponse is a destination record's responseContext.
type invocationResponse struct {
	StatusCode      int
	ExecutedVersion string
	FunctionError   string
	Payload         []byte
}

// destinationRecord is the invocation record Lambda sends a destination.
func (s *Server) destinationRecord(f *berthv1.LambdaFunctionRecord, ev *berthv1.LambdaEventRecord, condition string, resp *invocationResponse) []byte {
	raw := func(b []byte) json.RawMessage {
		if len(b) == 0 || !json.Valid(b) {
			b, _ = json.Marshal(string(b))
		}
		return b
	}
	rec := map[string]any{
		"version":   "1.0",
		"timestamp": s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"requestContext": map[string]any{
			"requestId": ev.GetRequestId(), "functionArn": s.names.QualifiedARN(f.GetName(), orDefault(ev.GetQualifier(), lambda.Latest)),
			"condition": condition, "approximateInvokeCount": ev.GetAttempts(),
		},
		"requestPayload": raw(ev.GetPayload()),
	}
	if resp != nil {
		rc := map[string]any{"statusCode": resp.StatusCode, "executedVersion": resp.ExecutedVersion}
		if resp.FunctionError != "" {
			rc["functionError"] = resp.FunctionError
		}
		rec["responseContext"] = rc
		rec["responsePayload"] = raw(resp.Payload)
	}
	b, _ := json.Marshal(rec)
	return b
}

// destinationWrite is the queued event for a destination function, or nil
// when there is none or it is not a function of berth's.
func (s *Server) destinationWrite(dest string, payload []byte) *berthv1.DocumentWrite {
	if dest == "" {
		return nil
	}
	ref, err := s.names.ParseFunctionName("Destination", dest)
	if err != nil {
		s.cfg.Logger.Warn("lambda: destination is not a function", "destination", dest, "err", err)
		return nil
	}
	now := s.now()
	n := s.nextSeq(now)
	ev := &berthv1.LambdaEventRecord{FunctionName: ref.Name, Qualifier: ref.Qualifier, Payload: payload, RequestId: newID(),
		EnqueuedAt: float64(now.UnixNano()) / 1e9, Source: "lambda.amazonaws.com"}
	w, err := s.events.PutWrite(eventKey(n), ev, 0)
	if err != nil {
		return nil
	}
	return w
}

// fail ends an event whose retries or age are spent: to the on-failure
// destination, if any.
func (s *Server) fail(ctx context.Context, r store.Stored[*berthv1.LambdaEventRecord], f *berthv1.LambdaFunctionRecord, cfg *berthv1.LambdaFunctionEventInvokeConfig, condition string, resp *invocationResponse) {
	s.cfg.Logger.Warn("lambda: event invocation failed for good", "function", f.GetName(), "request_id", r.Value.GetRequestId(), "condition", condition)
	dest := cfg.GetDestinationConfig().GetOnFailure().GetDestination()
	s.finish(ctx, r, s.destinationWrite(dest, s.destinationRecord(f, r.Value, condition, resp)))
}

// succeed ends an event that ran: to the on-success destination, if any.
func (s *Server) succeed(ctx context.Context, r store.Stored[*berthv1.LambdaEventRecord], f *berthv1.LambdaFunctionRecord, cfg *berthv1.LambdaFunctionEventInvokeConfig, version string, payload []byte) {
	dest := cfg.GetDestinationConfig().GetOnSuccess().GetDestination()
	var w *berthv1.DocumentWrite
	if dest != "" {
		ev := cloneEvent(r.Value)
		ev.Attempts++
		w = s.destinationWrite(dest, s.destinationRecord(f, ev, "Success", &invocationResponse{StatusCode: 200, ExecutedVersion: version, Payload: payload}))
	}
	s.finish(ctx, r, w)
}
