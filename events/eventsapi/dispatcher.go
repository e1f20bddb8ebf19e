package eventsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/events"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/schedules"
	"github.com/berth/berth/store"
)

const (
	cursorKey = events.DefaultBus
	// logBatch is how many events of the log one store write moves the
	// cursor over.
	logBatch = 20
	// Retry policy defaults, as EventBridge's.
	defaultRetryAttempts = 185
	defaultMaxAgeSeconds = 86400
	// attemptTimeout bounds one delivery.
	attemptTimeout = 30 * time.Second
)

// ensureCursor makes the dispatcher's cursor when the first rule is
// made: at the end of the event log, so that events older than every rule
// are not delivered. (Before there is a rule, nothing is to be matched and
// no cursor is kept; a start writes nothing.)
func (s *Server) ensureCursor(ctx context.Context) error {
	if _, ok, err := s.cursor.Get(cursorKey); err != nil || ok {
		return err
	}
	var last uint64
	for {
		evs, err := s.cfg.Store.EventLog(last, 1000)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		last = evs[len(evs)-1].GetSequence()
	}
	_, err := s.cursor.Put(ctx, s.at(), cursorKey, &berthv1.EventCursorRecord{Sequence: last}, 0)
	if apierr.HasReason(err, store.ReasonStale) {
		return nil
	}
	return err
}

// Run is the dispatcher: it reads the event log, fires the rules'
// schedules and delivers what is due, on the caller's goroutine, until ctx
// ends. It wakes on an append to the log, on Wake and every Tick.
func (s *Server) Run(ctx context.Context) error {
	watch := s.cfg.Store.Watch(ctx)
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	for {
		s.pass(ctx)
	wait:
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		case ev, ok := <-watch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				watch = s.cfg.Store.Watch(ctx)
				break
			}
			if ev.Kind != store.KindEventLog {
				goto wait
			}
		}
	}
}

// pass does one round of the dispatcher's work; what fails is logged and
// tried again at the next pass.
func (s *Server) pass(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	rules, err := s.enabledRules()
	if err != nil {
		s.cfg.Logger.Warn("events: list rules", slog.Any("err", err))
		return
	}
	if err := s.readLog(ctx, rules); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("events: read the event log", slog.Any("err", err))
	}
	if err := s.fireRuleSchedules(ctx, rules); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("events: rule schedules", slog.Any("err", err))
	}
	if err := s.deliverDue(ctx); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("events: deliveries", slog.Any("err", err))
	}
}

// liveRule is an enabled rule with its parsed pattern or schedule.
type liveRule struct {
	rec      *berthv1.EventRuleRecord
	pattern  *events.Pattern
	schedule *schedules.Expression
}

func (s *Server) enabledRules() ([]liveRule, error) {
	var out []liveRule
	err := s.rules.List("", "", func(r store.Stored[*berthv1.EventRuleRecord]) bool {
		if r.Value.GetState() == events.StateDisabled {
			return true
		}
		lr := liveRule{rec: r.Value}
		if p := r.Value.GetEventPattern(); p != "" {
			if pat, err := events.ParsePattern(p); err == nil {
				lr.pattern = pat
			}
		}
		if e := r.Value.GetScheduleExpression(); e != "" {
			if expr, err := schedules.Parse("ScheduleExpression", e, false); err == nil {
				lr.schedule = &expr
			}
		}
		out = append(out, lr)
		return true
	})
	return out, err
}

// EventJSON is a log record as EventBridge sends it to targets.
func EventJSON(ev *berthv1.EventLogRecord) []byte {
	detail := json.RawMessage(ev.GetDetail())
	if !json.Valid(detail) {
		detail = json.RawMessage("{}")
	}
	return events.Event{
		Version: "0", ID: ev.GetId(), DetailType: ev.GetDetailType(), Source: ev.GetSource(),
		Account: ev.GetAccount(), Region: ev.GetRegion(), Time: rfc3339(ev.GetTime()),
		Resources: ev.GetResources(), Detail: detail,
	}.JSON()
}

func rfc3339(secs float64) string {
	return time.Unix(0, int64(secs*1e9)).UTC().Format("2006-01-02T15:04:05Z")
}

// readLog moves the cursor over the log, a batch per store write, with
// the deliveries of the rules that match.
func (s *Server) readLog(ctx context.Context, rules []liveRule) error {
	for ctx.Err() == nil {
		cur, ok, err := s.cursor.Get(cursorKey)
		if err != nil {
			return err
		}
		if !ok {
			return nil // no rule was ever made
		}
		evs, err := s.cfg.Store.EventLog(cur.Value.GetSequence(), logBatch)
		if err != nil || len(evs) == 0 {
			return err
		}
		var writes []*berthv1.DocumentWrite
		for _, ev := range evs {
			doc := EventJSON(ev)
			var decoded map[string]any
			if err := json.Unmarshal(doc, &decoded); err != nil {
				continue
			}
			for _, r := range rules {
				if r.pattern == nil || !r.pattern.MatchValue(decoded) {
					continue
				}
				for _, t := range r.rec.GetTargets() {
					w, err := s.deliveryFor(r.rec, t, ev, doc)
					if err != nil {
						s.cfg.Logger.Warn("events: target input", slog.String("rule", r.rec.GetName()), slog.String("target", t.GetId()), slog.Any("err", err))
						continue
					}
					writes = append(writes, w)
				}
			}
		}
		next, err := s.cursor.PutWrite(cursorKey, &berthv1.EventCursorRecord{Sequence: evs[len(evs)-1].GetSequence()}, cur.Generation)
		if err != nil {
			return err
		}
		if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), append(writes, next)...); err != nil {
			return err
		}
	}
	return nil
}

// deliveryFor is the write of the delivery of event ev (doc as targets get
// it) to a rule's target, with the event's trace header.
func (s *Server) deliveryFor(rule *berthv1.EventRuleRecord, t *berthv1.EventsTarget, ev *berthv1.EventLogRecord, doc []byte) (*berthv1.DocumentWrite, error) {
	input, err := events.TargetInput(transformOf(t), doc, events.Context{
		RuleARN: rule.GetArn(), RuleName: rule.GetName(), IngestionTime: rfc3339(s.at()),
	})
	if err != nil {
		return nil, err
	}
	return s.DeliveryWrite(&berthv1.EventDeliveryRecord{
		Source: ruleSlotKey(rule.GetName()), SourceArn: rule.GetArn(), Target: t, Input: input,
		EventId: ev.GetId(), EventTime: ev.GetTime(), NextAttemptAt: s.at(), Principal: "events.amazonaws.com",
		TraceHeader: ev.GetTraceHeader(),
	})
}

// DeliveryWrite is the store write that queues a delivery: written with
// what decided it (the cursor's advance, a slot), then delivered by Run.
func (s *Server) DeliveryWrite(d *berthv1.EventDeliveryRecord) (*berthv1.DocumentWrite, error) {
	return s.deliveries.PutWrite(d.GetEventId()+"/"+d.GetSource()+"/"+d.GetTarget().GetId(), d, 0)
}

// fireRuleSchedules fires each enabled scheduled rule's due slot once: the
// slot is stored with the deliveries of its "Scheduled Event".
func (s *Server) fireRuleSchedules(ctx context.Context, rules []liveRule) error {
	now := s.cfg.Now()
	for _, r := range rules {
		if r.schedule == nil {
			continue
		}
		key := ruleSlotKey(r.rec.GetName())
		slot, ok, err := s.slots.Get(key)
		if err != nil {
			return err
		}
		anchor := secs(r.rec.GetCreatedAt())
		last := anchor
		if ok {
			last = secs(slot.Value.GetSlot())
		}
		due, fire := r.schedule.Due(last, now, anchor, time.UTC)
		if !fire {
			continue
		}
		ev := &berthv1.EventLogRecord{
			Id: newID(), Source: "aws.events", DetailType: "Scheduled Event", Account: s.cfg.ARNs.Account,
			Region: s.cfg.ARNs.Region, Time: float64(due.Unix()), Resources: []string{r.rec.GetArn()}, Detail: "{}",
		}
		doc := EventJSON(ev)
		sw, err := s.slots.PutWrite(key, &berthv1.EventSlotRecord{Slot: float64(due.UnixNano()) / 1e9}, slot.Generation)
		if err != nil {
			return err
		}
		writes := []*berthv1.DocumentWrite{sw}
		for _, t := range r.rec.GetTargets() {
			w, err := s.deliveryFor(r.rec, t, ev, doc)
			if err != nil {
				s.cfg.Logger.Warn("events: target input", slog.String("rule", r.rec.GetName()), slog.String("target", t.GetId()), slog.Any("err", err))
				continue
			}
			writes = append(writes, w)
		}
		if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil && !apierr.HasReason(err, store.ReasonStale) {
			return err
		}
		s.cfg.Logger.Info("events: schedule fired", slog.String("rule", r.rec.GetName()), slog.Time("slot", due))
	}
	return nil
}

func secs(f float64) time.Time { return time.Unix(0, int64(f*1e9)) }

// deliverDue attempts every delivery whose time has come.
func (s *Server) deliverDue(ctx context.Context) error {
	now := s.at()
	var due []store.Stored[*berthv1.EventDeliveryRecord]
	if err := s.deliveries.List("", "", func(d store.Stored[*berthv1.EventDeliveryRecord]) bool {
		if d.Value.GetNextAttemptAt() <= now {
			due = append(due, d)
		}
		return true
	}); err != nil {
		return err
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return nil
		}
		err := s.attempt(ctx, d.Value)
		if err == nil {
			if err := s.deliveries.Delete(ctx, s.at(), d.Key, d.Generation); err != nil && !apierr.HasReason(err, store.ReasonStale) {
				return err
			}
			continue
		}
		if err := s.failed(ctx, d, err); err != nil {
			return err
		}
	}
	return nil
}

// failed schedules the next attempt, or makes the delivery a dead letter
// when the target's retry policy gives up.
func (s *Server) failed(ctx context.Context, d store.Stored[*berthv1.EventDeliveryRecord], cause error) error {
	rec := d.Value
	rec.Attempts++
	rec.LastError = cause.Error()
	maxAttempts, maxAge := int32(defaultRetryAttempts), int32(defaultMaxAgeSeconds)
	if rp := rec.GetTarget().GetRetryPolicy(); rp != nil {
		if rp.MaximumRetryAttempts != nil {
			maxAttempts = rp.GetMaximumRetryAttempts()
		}
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = rp.GetMaximumEventAgeInSeconds()
		}
	}
	now := s.at()
	retries := rec.GetAttempts() - 1
	if retries < maxAttempts && now-rec.GetEventTime() < float64(maxAge) {
		delay := s.cfg.Backoff << min(retries, 20)
		if delay > s.cfg.MaxBackoff || delay <= 0 {
			delay = s.cfg.MaxBackoff
		}
		rec.NextAttemptAt = now + delay.Seconds()
		s.cfg.Logger.Info("events: delivery failed, will retry", slog.String("source", rec.GetSource()),
			slog.String("target", rec.GetTarget().GetId()), slog.Int("attempts", int(rec.GetAttempts())), slog.Any("err", cause))
		_, err := s.deliveries.Put(ctx, now, d.Key, rec, d.Generation)
		if apierr.HasReason(err, store.ReasonStale) {
			return nil
		}
		return err
	}
	writes := []*berthv1.DocumentWrite{s.deliveries.DeleteWrite(d.Key, d.Generation)}
	dlq := rec.GetTarget().GetDeadLetterConfig().GetArn()
	s.cfg.Logger.Warn("events: delivery given up", slog.String("source", rec.GetSource()), slog.String("target", rec.GetTarget().GetId()),
		slog.Int("attempts", int(rec.GetAttempts())), slog.String("dead_letter", dlq), slog.Any("err", cause))
	if dlq != "" {
		w, err := s.deadLetters.PutWrite(deadLetterKey(now, rec.GetEventId(), rec.GetTarget().GetId()), &berthv1.EventDeadLetterRecord{
			Source: rec.GetSource(), SourceArn: rec.GetSourceArn(), TargetId: rec.GetTarget().GetId(), TargetArn: rec.GetTarget().GetArn(),
			DeadLetterArn: dlq, EventId: rec.GetEventId(), Input: string(rec.GetInput()), Attempts: rec.GetAttempts(),
			Error: cause.Error(), At: now,
		}, 0)
		if err != nil {
			return err
		}
		writes = append(writes, w)
	}
	_, err := s.cfg.Store.WriteDocuments(ctx, now, writes...)
	if apierr.HasReason(err, store.ReasonStale) {
		return nil
	}
	return err
}

// attempt delivers once.
func (s *Server) attempt(ctx context.Context, d *berthv1.EventDeliveryRecord) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	t := d.GetTarget()
	switch {
	case strings.HasPrefix(t.GetArn(), "arn:aws:lambda:"):
		if s.cfg.Lambda == nil {
			return fmt.Errorf("no Lambda service in this control plane to invoke %s", t.GetArn())
		}
		return s.cfg.Lambda.InvokeEvent(ctx, invoke.EventRequest{
			Function: t.GetArn(), Payload: d.GetInput(), Principal: d.GetPrincipal(),
			SourceArn: d.GetSourceArn(), SourceAccount: s.cfg.ARNs.Account, TraceHeader: d.GetTraceHeader(),
		})
	case strings.HasPrefix(t.GetArn(), "arn:aws:ecs:"):
		if s.cfg.ECS == nil {
			return fmt.Errorf("no ECS API in this control plane to run tasks on %s", t.GetArn())
		}
		resp, err := s.cfg.ECS.RunTask(ctx, RunTaskRequest(t, d.GetInput(), startedBy(d.GetSource())))
		if err != nil {
			return err
		}
		if f := resp.GetFailures(); len(f) > 0 {
			return fmt.Errorf("RunTask: %s %s", f[0].GetReason(), f[0].GetDetail())
		}
		return nil
	}
	return fmt.Errorf("berth cannot deliver to %s", t.GetArn())
}

// startedBy is the startedBy of the tasks a target starts: events-rule/NAME
// for a rule, as EventBridge sets it.
func startedBy(source string) string {
	if name, ok := strings.CutPrefix(source, "rule/"); ok {
		return "events-rule/" + name
	}
	return strings.Replace(source, "schedule/", "scheduler/", 1)
}

// RunTaskRequest is the RunTask of an ECS target: its EcsParameters, and
// the input as the task's overrides when it is a TaskOverride
// ({"containerOverrides": [...]}), as EventBridge passes it to ECS.
func RunTaskRequest(t *berthv1.EventsTarget, input []byte, startedBy string) *berthv1.RunTaskRequest {
	p := t.GetEcsParameters()
	req := &berthv1.RunTaskRequest{
		Cluster: t.GetArn(), TaskDefinition: p.GetTaskDefinitionArn(), Count: 1,
		LaunchType: p.GetLaunchType(), Group: p.GetGroup(), PlatformVersion: p.GetPlatformVersion(),
		EnableEcsManagedTags: p.GetEnableEcsManagedTags(), EnableExecuteCommand: p.GetEnableExecuteCommand(),
		PropagateTags: p.GetPropagateTags(), ReferenceId: p.GetReferenceId(), StartedBy: startedBy,
	}
	if p.TaskCount != nil {
		req.Count = p.GetTaskCount()
	}
	if vpc := p.GetNetworkConfiguration().GetAwsvpcConfiguration(); vpc != nil {
		req.NetworkConfiguration = &berthv1.NetworkConfiguration{AwsvpcConfiguration: &berthv1.AwsVpcConfiguration{
			Subnets: vpc.GetSubnets(), SecurityGroups: vpc.GetSecurityGroups(), AssignPublicIp: vpc.GetAssignPublicIp()}}
	}
	for _, c := range p.GetCapacityProviderStrategy() {
		req.CapacityProviderStrategy = append(req.CapacityProviderStrategy, &berthv1.CapacityProviderStrategyItem{
			CapacityProvider: c.GetCapacityProvider(), Weight: c.GetWeight(), Base: c.GetBase()})
	}
	for _, c := range p.GetPlacementConstraints() {
		req.PlacementConstraints = append(req.PlacementConstraints, &berthv1.PlacementConstraint{Type: c.GetType(), Expression: c.GetExpression()})
	}
	for _, c := range p.GetPlacementStrategy() {
		req.PlacementStrategy = append(req.PlacementStrategy, &berthv1.PlacementStrategy{Type: c.GetType(), Field: c.GetField()})
	}
	for _, tag := range p.GetTags() {
		req.Tags = append(req.Tags, &berthv1.Tag{Key: tag.GetKey(), Value: tag.GetValue()})
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(input, &probe) == nil {
		if _, ok := probe["containerOverrides"]; ok {
			ov := &berthv1.TaskOverride{}
			if protojson.Unmarshal(input, ov) == nil || (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(input, ov) == nil {
				req.Overrides = ov
			}
		}
	}
	return req
}
