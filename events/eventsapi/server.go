package eventsapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/events"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/schedules"
	"github.com/berth/berth/store"
)

// Collections of the store this package keeps its records in.
const (
	CollectionRules       = "events-rules"
	CollectionCursor      = "events-cursor"
	CollectionSlots       = "events-slots"
	CollectionDeliveries  = "events-deliveries"
	CollectionDeadLetters = "events-dead-letters"
)

// TaskRunner is ECS's RunTask, in-process (ecs/ecsapi's Server).
type TaskRunner interface {
	RunTask(ctx context.Context, req *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error)
}

// Config is what the server and its dispatcher need.
type Config struct {
	Store  *store.Store
	ARNs   arn.Namer
	Logger *slog.Logger
	// Now is the clock of schedules, retries and event times (time.Now
	// when nil).
	Now func() time.Time
	// Tick is how often the dispatcher looks at its clock when nothing
	// wakes it (1 s when 0).
	Tick time.Duration
	// Backoff is the first retry's delay, doubled at each attempt up to
	// MaxBackoff (1 s and 5 min when 0).
	Backoff, MaxBackoff time.Duration
	// Lambda invokes functions; nil until Lambda is wired (deliveries to a
	// function are retried meanwhile).
	Lambda invoke.EventSource
	// ECS runs tasks for ECS targets; nil: those deliveries are retried.
	ECS TaskRunner
}

// Server is berth.v1.EventBridge.
type Server struct {
	berthv1.UnimplementedEventBridgeServer // every method is implemented below
	cfg                                    Config
	rules                                  store.Collection[*berthv1.EventRuleRecord]
	cursor                                 store.Collection[*berthv1.EventCursorRecord]
	slots                                  store.Collection[*berthv1.EventSlotRecord]
	deliveries                             store.Collection[*berthv1.EventDeliveryRecord]
	deadLetters                            store.Collection[*berthv1.EventDeadLetterRecord]
	// wake tells the dispatcher that there is something new (1 buffered:
	// a wake-up pending is enough).
	wake chan struct{}
}

// New serves EventBridge over the store.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	st := cfg.Store
	return &Server{
		cfg:         cfg,
		rules:       store.Collection[*berthv1.EventRuleRecord]{Store: st, Name: CollectionRules, New: func() *berthv1.EventRuleRecord { return &berthv1.EventRuleRecord{} }},
		cursor:      store.Collection[*berthv1.EventCursorRecord]{Store: st, Name: CollectionCursor, New: func() *berthv1.EventCursorRecord { return &berthv1.EventCursorRecord{} }},
		slots:       store.Collection[*berthv1.EventSlotRecord]{Store: st, Name: CollectionSlots, New: func() *berthv1.EventSlotRecord { return &berthv1.EventSlotRecord{} }},
		deliveries:  store.Collection[*berthv1.EventDeliveryRecord]{Store: st, Name: CollectionDeliveries, New: func() *berthv1.EventDeliveryRecord { return &berthv1.EventDeliveryRecord{} }},
		deadLetters: store.Collection[*berthv1.EventDeadLetterRecord]{Store: st, Name: CollectionDeadLetters, New: func() *berthv1.EventDeadLetterRecord { return &berthv1.EventDeadLetterRecord{} }},
		wake:        make(chan struct{}, 1),
	}
}

func (s *Server) at() float64 { return float64(s.cfg.Now().UnixMilli()) / 1000 }

// Wake tells the dispatcher to look for work now.
func (s *Server) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// newID is an event id: a random UUID, as EventBridge's.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// checkBus: berth has the default bus only, by name or ARN.
func (s *Server) checkBus(field, bus string) error {
	if bus == "" || bus == events.DefaultBus || bus == s.cfg.ARNs.EventBus(events.DefaultBus) {
		return nil
	}
	e := apierr.New(apierr.NotFound, "", "Event bus %s does not exist.", bus)
	e.Field = field
	return e
}

func ruleNotFound(name string) error {
	return apierr.New(apierr.NotFound, ReasonRuleNotFound, "Rule %s does not exist on EventBus default.", name)
}

// checkError turns package events' refusals into apierr's.
func checkError(err error) error {
	var ce *events.CheckError
	if errors.As(err, &ce) {
		e := apierr.Field(ce.Field, "%s", ce.Message).Says(ce.Message)
		return e
	}
	var pe *events.PatternError
	if errors.As(err, &pe) {
		e := apierr.New(apierr.InvalidArgument, ReasonInvalidEventPattern, "%s", pe.Error())
		e.Field = "EventPattern"
		if pe.Path != "" {
			e.Detail = "EventPattern." + pe.Path + ": " + pe.Reason
		}
		return e
	}
	var ee *schedules.ExprError
	if errors.As(err, &ee) {
		e := apierr.Field(ee.Field, "%s: %s", ee.Part, ee.Message).Says("Parameter " + ee.Field + " is not valid.")
		return e
	}
	return err
}

// PutRule creates or replaces a rule (its targets stay).
func (s *Server) PutRule(ctx context.Context, req *berthv1.PutRuleRequest) (*berthv1.PutRuleResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	if err := events.CheckName("Name", req.GetName()); err != nil {
		return nil, checkError(err)
	}
	if req.GetEventPattern() == "" && req.GetScheduleExpression() == "" {
		return nil, apierr.Field("EventPattern", "EventPattern or ScheduleExpression must be given").Says("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if req.GetEventPattern() != "" {
		if _, err := events.ParsePattern(req.GetEventPattern()); err != nil {
			return nil, checkError(err)
		}
	}
	if req.GetScheduleExpression() != "" {
		if _, err := schedules.Parse("ScheduleExpression", req.GetScheduleExpression(), false); err != nil {
			return nil, checkError(err)
		}
	}
	if err := events.CheckState(req.GetState()); err != nil {
		return nil, checkError(err)
	}
	if err := events.CheckDescription(req.GetDescription()); err != nil {
		return nil, checkError(err)
	}
	if err := s.ensureCursor(ctx); err != nil {
		return nil, err
	}
	state := req.GetState()
	if state == "" {
		state = events.StateEnabled
	}
	at := s.at()
	rec, err := s.rules.Update(ctx, at, req.GetName(), func(old *berthv1.EventRuleRecord, ok bool) (*berthv1.EventRuleRecord, error) {
		next := &berthv1.EventRuleRecord{
			Name: req.GetName(), Arn: s.cfg.ARNs.EventRule(req.GetName()),
			EventPattern: req.GetEventPattern(), ScheduleExpression: req.GetScheduleExpression(),
			State: state, Description: req.GetDescription(), RoleArn: req.GetRoleArn(),
			Tags: req.GetTags(), CreatedAt: at,
		}
		if ok {
			next.Targets = old.GetTargets()
			next.Tags = old.GetTags()
			next.CreatedAt = old.GetCreatedAt()
		}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return &berthv1.PutRuleResponse{RuleArn: rec.Value.GetArn()}, nil
}

func (s *Server) rule(name string) (store.Stored[*berthv1.EventRuleRecord], error) {
	if err := events.CheckName("Name", name); err != nil {
		return store.Stored[*berthv1.EventRuleRecord]{}, checkError(err)
	}
	rec, ok, err := s.rules.Get(name)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, ruleNotFound(name)
	}
	return rec, nil
}

func ruleShape(r *berthv1.EventRuleRecord) *berthv1.EventsRule {
	return &berthv1.EventsRule{
		Name: r.GetName(), Arn: r.GetArn(), EventPattern: r.GetEventPattern(), State: r.GetState(),
		Description: r.GetDescription(), ScheduleExpression: r.GetScheduleExpression(), RoleArn: r.GetRoleArn(),
		EventBusName: events.DefaultBus,
	}
}

// DescribeRule returns a rule.
func (s *Server) DescribeRule(ctx context.Context, req *berthv1.DescribeRuleRequest) (*berthv1.DescribeRuleResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	rec, err := s.rule(req.GetName())
	if err != nil {
		return nil, err
	}
	r := rec.Value
	return &berthv1.DescribeRuleResponse{
		Name: r.GetName(), Arn: r.GetArn(), EventPattern: r.GetEventPattern(), ScheduleExpression: r.GetScheduleExpression(),
		State: r.GetState(), Description: r.GetDescription(), RoleArn: r.GetRoleArn(), EventBusName: events.DefaultBus,
		CreatedBy: s.cfg.ARNs.Account,
	}, nil
}

func checkLimit(limit int32) (int, error) {
	if limit < 0 || limit > 100 {
		return 0, apierr.Field("Limit", "must be 1-100")
	}
	if limit == 0 {
		return 100, nil
	}
	return int(limit), nil
}

// ListRules lists the rules whose names start with NamePrefix, by name.
func (s *Server) ListRules(ctx context.Context, req *berthv1.ListRulesRequest) (*berthv1.ListRulesResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	limit, err := checkLimit(req.GetLimit())
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListRulesResponse{Rules: []*berthv1.EventsRule{}}
	err = s.rules.List(req.GetNamePrefix(), req.GetNextToken(), func(r store.Stored[*berthv1.EventRuleRecord]) bool {
		if len(out.Rules) == limit {
			out.NextToken = out.Rules[len(out.Rules)-1].GetName()
			return false
		}
		out.Rules = append(out.Rules, ruleShape(r.Value))
		return true
	})
	return out, err
}

func (s *Server) setState(ctx context.Context, bus, name, state string) error {
	if err := s.checkBus("EventBusName", bus); err != nil {
		return err
	}
	if _, err := s.rule(name); err != nil {
		return err
	}
	_, err := s.rules.Update(ctx, s.at(), name, func(old *berthv1.EventRuleRecord, ok bool) (*berthv1.EventRuleRecord, error) {
		if !ok {
			return nil, ruleNotFound(name)
		}
		old.State = state
		return old, nil
	})
	s.Wake()
	return err
}

// EnableRule enables a rule.
func (s *Server) EnableRule(ctx context.Context, req *berthv1.EnableRuleRequest) (*berthv1.EnableRuleResponse, error) {
	if err := s.setState(ctx, req.GetEventBusName(), req.GetName(), events.StateEnabled); err != nil {
		return nil, err
	}
	return &berthv1.EnableRuleResponse{}, nil
}

// DisableRule disables a rule: it matches nothing and fires no schedule.
func (s *Server) DisableRule(ctx context.Context, req *berthv1.DisableRuleRequest) (*berthv1.DisableRuleResponse, error) {
	if err := s.setState(ctx, req.GetEventBusName(), req.GetName(), events.StateDisabled); err != nil {
		return nil, err
	}
	return &berthv1.DisableRuleResponse{}, nil
}

// DeleteRule deletes a rule that has no targets (a missing rule is not an
// error, as in EventBridge).
func (s *Server) DeleteRule(ctx context.Context, req *berthv1.DeleteRuleRequest) (*berthv1.DeleteRuleResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	if err := events.CheckName("Name", req.GetName()); err != nil {
		return nil, checkError(err)
	}
	rec, ok, err := s.rules.Get(req.GetName())
	if err != nil || !ok {
		return &berthv1.DeleteRuleResponse{}, err
	}
	if len(rec.Value.GetTargets()) > 0 {
		return nil, apierr.New(apierr.InvalidArgument, "", "Rule can't be deleted since it has targets.")
	}
	writes := []*berthv1.DocumentWrite{s.rules.DeleteWrite(req.GetName(), rec.Generation)}
	if slot, ok, err := s.slots.Get(ruleSlotKey(req.GetName())); err != nil {
		return nil, err
	} else if ok {
		writes = append(writes, s.slots.DeleteWrite(slot.Key, slot.Generation))
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.DeleteRuleResponse{}, nil
}

func ruleSlotKey(name string) string { return "rule/" + name }

// targetSpec is what package events checks of a target.
func targetSpec(t *berthv1.EventsTarget) events.TargetSpec {
	spec := events.TargetSpec{ID: t.GetId(), ARN: t.GetArn(), Transform: transformOf(t), RetryAttempts: -1, MaxAgeSeconds: -1, TaskCount: -1}
	if rp := t.GetRetryPolicy(); rp != nil {
		if rp.MaximumRetryAttempts != nil {
			spec.RetryAttempts = int64(rp.GetMaximumRetryAttempts())
		}
		if rp.MaximumEventAgeInSeconds != nil {
			spec.MaxAgeSeconds = int64(rp.GetMaximumEventAgeInSeconds())
		}
	}
	if ecs := t.GetEcsParameters(); ecs != nil {
		spec.TaskCount = 1
		if ecs.TaskCount != nil {
			spec.TaskCount = int64(ecs.GetTaskCount())
		}
	}
	return spec
}

func transformOf(t *berthv1.EventsTarget) events.Transform {
	tr := events.Transform{Input: t.GetInput(), InputPath: t.GetInputPath()}
	if it := t.GetInputTransformer(); it != nil {
		tr.HasTransformer = true
		tr.InputPathsMap = it.GetInputPathsMap()
		tr.InputTemplate = it.GetInputTemplate()
	}
	return tr
}

// CheckTarget checks a target as PutTargets does (also for Scheduler's
// targets): its shape, and that berth can deliver to its ARN: a Lambda
// function (that exists, when Lambda is wired) or an ECS cluster with
// EcsParameters. field prefixes the paths of errors ("Targets[0]").
func (s *Server) CheckTarget(ctx context.Context, field string, t *berthv1.EventsTarget) error {
	if err := events.CheckTarget(targetSpec(t)); err != nil {
		if ce, ok := err.(*events.CheckError); ok {
			ce.Field = field + "." + ce.Field
		}
		return checkError(err)
	}
	a := t.GetArn()
	switch {
	case strings.HasPrefix(a, "arn:aws:lambda:"):
		if !strings.HasPrefix(a, s.cfg.ARNs.LambdaFunctionPrefix()) {
			return apierr.Field(field+".Arn", "%s is not a function of this account and region (%s...)", a, s.cfg.ARNs.LambdaFunctionPrefix())
		}
		if s.cfg.Lambda != nil {
			err := s.cfg.Lambda.CheckPermission(ctx, invoke.EventRequest{Function: a, Principal: "events.amazonaws.com", SourceAccount: s.cfg.ARNs.Account})
			if apierr.Is(err, apierr.NotFound) {
				e := apierr.New(apierr.NotFound, "", "Function not found: %s", a)
				e.Field = field + ".Arn"
				return e
			}
		}
	case strings.HasPrefix(a, "arn:aws:ecs:"):
		if !strings.HasPrefix(a, s.cfg.ARNs.Cluster("")) {
			return apierr.Field(field+".Arn", "%s is not an ECS cluster of this account and region", a)
		}
		if t.GetEcsParameters().GetTaskDefinitionArn() == "" {
			return apierr.Field(field+".EcsParameters.TaskDefinitionArn", "an ECS target needs EcsParameters with a TaskDefinitionArn")
		}
		if _, err := s.cfg.Store.Cluster(strings.TrimPrefix(a, s.cfg.ARNs.Cluster(""))); apierr.Is(err, apierr.NotFound) {
			e := apierr.New(apierr.NotFound, "", "Cluster not found: %s", a)
			e.Field = field + ".Arn"
			return e
		} else if err != nil {
			return err
		}
	default:
		return apierr.Field(field+".Arn", "berth delivers to Lambda functions (arn:aws:lambda:...) and ECS clusters (arn:aws:ecs:...:cluster/NAME); %s is neither", a)
	}
	if t.GetEcsParameters() != nil && !strings.HasPrefix(a, "arn:aws:ecs:") {
		return apierr.Field(field+".EcsParameters", "EcsParameters is for an ECS cluster's ARN")
	}
	return nil
}

// PutTargets adds targets to a rule, or replaces those of the same Id.
func (s *Server) PutTargets(ctx context.Context, req *berthv1.PutTargetsRequest) (*berthv1.PutTargetsResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	if _, err := s.rule(req.GetRule()); err != nil {
		return nil, err
	}
	if n := len(req.GetTargets()); n < 1 || n > 10 {
		return nil, apierr.Field("Targets", "1-10 targets in a call, not %d", n)
	}
	for i, t := range req.GetTargets() {
		if err := s.CheckTarget(ctx, fmt.Sprintf("Targets[%d]", i), t); err != nil {
			return nil, err
		}
	}
	_, err := s.rules.Update(ctx, s.at(), req.GetRule(), func(old *berthv1.EventRuleRecord, ok bool) (*berthv1.EventRuleRecord, error) {
		if !ok {
			return nil, ruleNotFound(req.GetRule())
		}
		for _, t := range req.GetTargets() {
			replaced := false
			for i, have := range old.Targets {
				if have.GetId() == t.GetId() {
					old.Targets[i] = t
					replaced = true
				}
			}
			if !replaced {
				old.Targets = append(old.Targets, t)
			}
		}
		if len(old.Targets) > events.MaxTargetsPerRule {
			return nil, apierr.New(apierr.ResourceExhausted, ReasonLimitExceeded, "The requested resource exceeds the maximum number allowed.").
				Says("The requested resource exceeds the maximum number allowed.")
		}
		return old, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.PutTargetsResponse{FailedEntries: []*berthv1.EventsTargetResultEntry{}}, nil
}

// RemoveTargets removes targets from a rule by Id.
func (s *Server) RemoveTargets(ctx context.Context, req *berthv1.RemoveTargetsRequest) (*berthv1.RemoveTargetsResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	if _, err := s.rule(req.GetRule()); err != nil {
		return nil, err
	}
	if n := len(req.GetIds()); n < 1 || n > 100 {
		return nil, apierr.Field("Ids", "1-100 ids in a call, not %d", n)
	}
	_, err := s.rules.Update(ctx, s.at(), req.GetRule(), func(old *berthv1.EventRuleRecord, ok bool) (*berthv1.EventRuleRecord, error) {
		if !ok {
			return nil, ruleNotFound(req.GetRule())
		}
		kept := old.Targets[:0]
		for _, t := range old.Targets {
			gone := false
			for _, id := range req.GetIds() {
				gone = gone || t.GetId() == id
			}
			if !gone {
				kept = append(kept, t)
			}
		}
		old.Targets = kept
		return old, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.RemoveTargetsResponse{FailedEntries: []*berthv1.EventsTargetResultEntry{}}, nil
}

// ListTargetsByRule lists a rule's targets in the order they were put.
func (s *Server) ListTargetsByRule(ctx context.Context, req *berthv1.ListTargetsByRuleRequest) (*berthv1.ListTargetsByRuleResponse, error) {
	if err := s.checkBus("EventBusName", req.GetEventBusName()); err != nil {
		return nil, err
	}
	limit, err := checkLimit(req.GetLimit())
	if err != nil {
		return nil, err
	}
	rec, err := s.rule(req.GetRule())
	if err != nil {
		return nil, err
	}
	start := 0
	if tok := req.GetNextToken(); tok != "" {
		if start, err = strconv.Atoi(tok); err != nil || start < 0 {
			return nil, apierr.Field("NextToken", "not a token this call gave").Says("The NextToken value is not valid.")
		}
	}
	all := rec.Value.GetTargets()
	out := &berthv1.ListTargetsByRuleResponse{Targets: []*berthv1.EventsTarget{}}
	for i := start; i < len(all); i++ {
		if len(out.Targets) == limit {
			out.NextToken = strconv.Itoa(i)
			break
		}
		out.Targets = append(out.Targets, all[i])
	}
	return out, nil
}

// PutEvents appends each valid entry to berth's event log (durably, before
// it answers), with the call's X-Amzn-Trace-Id (a function's call carries
// its invocation's lineage, passed on to the Lambda targets the event
// reaches); invalid entries are answered one by one.
func (s *Server) PutEvents(ctx context.Context, req *berthv1.PutEventsRequest) (*berthv1.PutEventsResponse, error) {
	entries := req.GetEntries()
	if len(entries) < 1 || len(entries) > events.MaxEntries {
		return nil, apierr.Field("Entries", "1-%d entries in a call, not %d", events.MaxEntries, len(entries))
	}
	total := 0
	for _, e := range entries {
		total += events.EntrySize(e.Time != nil, e.GetSource(), e.GetDetailType(), e.GetDetail(), e.GetResources())
	}
	if total > events.MaxEntriesBytes {
		return nil, apierr.Field("Entries", "the entries are %d bytes, more than %d", total, events.MaxEntriesBytes).
			Says("Total size of the entries in the request is over the limit.")
	}
	out := &berthv1.PutEventsResponse{}
	for _, e := range entries {
		res := s.putEntry(ctx, e)
		if res.GetErrorCode() != "" {
			out.FailedEntryCount++
		}
		out.Entries = append(out.Entries, res)
	}
	s.Wake()
	return out, nil
}

func (s *Server) putEntry(ctx context.Context, e *berthv1.PutEventsRequestEntry) *berthv1.PutEventsResultEntry {
	if err := s.checkBus("EventBusName", e.GetEventBusName()); err != nil {
		return &berthv1.PutEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: err.Error()}
	}
	if ee := events.CheckEntry(e.GetSource(), e.GetDetailType(), e.GetDetail()); ee != nil {
		return &berthv1.PutEventsResultEntry{ErrorCode: ee.Code, ErrorMessage: ee.Message}
	}
	if strings.HasPrefix(e.GetSource(), "aws.") {
		return &berthv1.PutEventsResultEntry{ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: "Not authorized for the source."}
	}
	now := s.at()
	t := now
	if e.Time != nil {
		t = e.GetTime()
	}
	rec := &berthv1.EventLogRecord{
		Id: newID(), Source: e.GetSource(), DetailType: e.GetDetailType(), Account: s.cfg.ARNs.Account,
		Region: s.cfg.ARNs.Region, Time: t, Resources: e.GetResources(), Detail: e.GetDetail(),
		TraceHeader: awsapi.TraceHeader(ctx),
	}
	if _, err := s.cfg.Store.Apply(ctx, &berthv1.Command{At: now, Change: &berthv1.Command_AppendEventLog{
		AppendEventLog: &berthv1.AppendEventLogCommand{Event: rec}}}); err != nil {
		return &berthv1.PutEventsResultEntry{ErrorCode: "InternalFailure", ErrorMessage: err.Error()}
	}
	return &berthv1.PutEventsResultEntry{EventId: rec.GetId()}
}

// TestEventPattern matches an event against a pattern.
func (s *Server) TestEventPattern(ctx context.Context, req *berthv1.TestEventPatternRequest) (*berthv1.TestEventPatternResponse, error) {
	p, err := events.ParsePattern(req.GetEventPattern())
	if err != nil {
		return nil, checkError(err)
	}
	var ev map[string]json.RawMessage
	if json.Unmarshal([]byte(req.GetEvent()), &ev) != nil || ev == nil {
		return nil, apierr.Field("Event", "must be a JSON object").Says("Parameter Event is not valid.")
	}
	for _, required := range []string{"id", "account", "source", "time", "region", "detail-type"} {
		if _, ok := ev[required]; !ok {
			return nil, apierr.Field("Event", "the event has no %q", required).Says("Parameter Event is not valid.")
		}
	}
	ok, err := p.Match([]byte(req.GetEvent()))
	if err != nil {
		return nil, apierr.Field("Event", "%v", err).Says("Parameter Event is not valid.")
	}
	return &berthv1.TestEventPatternResponse{Result: ok}, nil
}

// ListDeadLetterEvents lists the dead letters, oldest first.
func (s *Server) ListDeadLetterEvents(ctx context.Context, req *berthv1.ListDeadLetterEventsRequest) (*berthv1.ListDeadLetterEventsResponse, error) {
	limit, err := checkLimit(req.GetLimit())
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListDeadLetterEventsResponse{}
	last := ""
	err = s.deadLetters.List("", req.GetNextToken(), func(r store.Stored[*berthv1.EventDeadLetterRecord]) bool {
		if req.GetRule() != "" && r.Value.GetSource() != ruleSlotKey(req.GetRule()) {
			return true
		}
		if len(out.DeadLetters) == limit {
			out.NextToken = last
			return false
		}
		out.DeadLetters = append(out.DeadLetters, r.Value)
		last = r.Key
		return true
	})
	return out, err
}

func deadLetterKey(at float64, eventID, targetID string) string {
	return fmt.Sprintf("%020d/%s/%s", int64(at*1000), eventID, targetID)
}

// ListBusEvents returns the bus's events after a position of the event log
// (berth's own, for `berth events`).
func (s *Server) ListBusEvents(ctx context.Context, req *berthv1.ListBusEventsRequest) (*berthv1.ListBusEventsResponse, error) {
	limit, err := checkLimit(req.GetLimit())
	if err != nil {
		return nil, err
	}
	after := req.GetAfter()
	if req.GetLatest() {
		// The end of the log, then back by limit.
		var last uint64
		for {
			evs, err := s.cfg.Store.EventLog(last, 1000)
			if err != nil {
				return nil, err
			}
			if len(evs) == 0 {
				break
			}
			last = evs[len(evs)-1].GetSequence()
		}
		if last > uint64(limit) {
			after = last - uint64(limit)
		} else {
			after = 0
		}
	}
	evs, err := s.cfg.Store.EventLog(after, limit)
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListBusEventsResponse{Next: after}
	for _, ev := range evs {
		out.Events = append(out.Events, string(EventJSON(ev)))
		out.Next = ev.GetSequence()
	}
	return out, nil
}
