package schedulerapi

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/schedules"
	"github.com/berth/berth/store"
)

// Collections of the store this package keeps its records in.
const (
	CollectionSchedules = "scheduler-schedules"
	CollectionGroups    = "scheduler-groups"
	CollectionSlots     = "scheduler-slots"
)

// DefaultGroup is the group every account has.
const DefaultGroup = "default"

// Queue is EventBridge's delivery queue (events/eventsapi's Server): a
// delivery is written with the slot that made it, then delivered.
type Queue interface {
	DeliveryWrite(d *berthv1.EventDeliveryRecord) (*berthv1.DocumentWrite, error)
	// CheckTarget checks a target as EventBridge's PutTargets does (ARN,
	// the function or cluster there, retry policy, ...).
	CheckTarget(ctx context.Context, field string, t *berthv1.EventsTarget) error
	Wake()
}

// Config is what the server and its runner need.
type Config struct {
	Store  *store.Store
	ARNs   arn.Namer
	Logger *slog.Logger
	Queue  Queue
	// Now is the clock of schedules (time.Now when nil); Tick how often the
	// runner looks at it (1 s when 0).
	Now  func() time.Time
	Tick time.Duration
}

// Server is berth.v1.Scheduler.
type Server struct {
	berthv1.UnimplementedSchedulerServer // every method is implemented below
	cfg                                  Config
	schedules                            store.Collection[*berthv1.ScheduleRecord]
	groups                               store.Collection[*berthv1.ScheduleGroupRecord]
	slots                                store.Collection[*berthv1.EventSlotRecord]
	wake                                 chan struct{}
}

// New serves Scheduler over the store.
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
	st := cfg.Store
	return &Server{
		cfg:       cfg,
		schedules: store.Collection[*berthv1.ScheduleRecord]{Store: st, Name: CollectionSchedules, New: func() *berthv1.ScheduleRecord { return &berthv1.ScheduleRecord{} }},
		groups:    store.Collection[*berthv1.ScheduleGroupRecord]{Store: st, Name: CollectionGroups, New: func() *berthv1.ScheduleGroupRecord { return &berthv1.ScheduleGroupRecord{} }},
		slots:     store.Collection[*berthv1.EventSlotRecord]{Store: st, Name: CollectionSlots, New: func() *berthv1.EventSlotRecord { return &berthv1.EventSlotRecord{} }},
		wake:      make(chan struct{}, 1),
	}
}

func (s *Server) at() float64 { return float64(s.cfg.Now().UnixMilli()) / 1000 }

func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var nameRE = regexp.MustCompile(`^[0-9a-zA-Z\-_.]+$`)

func validation(field, format string, args ...any) error {
	e := apierr.Field(field, format, args...)
	return e
}

func checkName(field, name string) error {
	if len(name) < 1 || len(name) > 64 || !nameRE.MatchString(name) {
		return validation(field, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+ and have length 1-64", name, field)
	}
	return nil
}

func groupOf(g string) string {
	if g == "" {
		return DefaultGroup
	}
	return g
}

func scheduleKey(group, name string) string { return group + "/" + name }

func notFound(format string, args ...any) error {
	return apierr.New(apierr.NotFound, "", format, args...)
}

// group returns a group's record; the default group exists before it is
// first written.
func (s *Server) group(name string) (*berthv1.ScheduleGroupRecord, bool, error) {
	rec, ok, err := s.groups.Get(name)
	if err != nil {
		return nil, false, err
	}
	if ok {
		return rec.Value, false, nil
	}
	if name == DefaultGroup {
		return &berthv1.ScheduleGroupRecord{Name: DefaultGroup, Arn: s.cfg.ARNs.ScheduleGroup(DefaultGroup)}, true, nil
	}
	return nil, false, notFound("Schedule group %s does not exist.", name)
}

// invalidExpression is Scheduler's text for a schedule expression it
// refuses; berth's words, which name the part and the rule, go beside it.
func invalidExpression(expr string) string { return "Invalid Schedule Expression " + expr + "." }

// scheduleInput is what CreateSchedule and UpdateSchedule share.
type scheduleInput struct {
	name, group, expr, tz, description, state, kms, after string
	start, end                                            *float64
	target                                                *berthv1.SchedulerTarget
	window                                                *berthv1.SchedulerFlexibleTimeWindow
}

// check checks a schedule as Scheduler does, naming the member.
func (s *Server) check(ctx context.Context, in scheduleInput) error {
	if err := checkName("Name", in.name); err != nil {
		return err
	}
	if err := checkName("GroupName", in.group); err != nil {
		return err
	}
	if in.expr == "" {
		return validation("ScheduleExpression", "must be given")
	}
	if len(in.expr) > 256 {
		return validation("ScheduleExpression", "at most 256 characters")
	}
	if _, err := schedules.Parse("ScheduleExpression", in.expr, true); err != nil {
		ee := err.(*schedules.ExprError)
		return apierr.Field("ScheduleExpression", "%s: %s", ee.Part, ee.Message).Says(invalidExpression(in.expr))
	}
	if in.tz != "" {
		if _, err := time.LoadLocation(in.tz); err != nil || in.tz == "Local" {
			return apierr.Field("ScheduleExpressionTimezone", "%q is not a time zone of the IANA database", in.tz).
				Says("Invalid ScheduleExpressionTimezone " + in.tz + ".")
		}
	}
	if in.start != nil && in.end != nil && *in.end <= *in.start {
		return validation("EndDate", "must be after StartDate")
	}
	if utf8.RuneCountInString(in.description) > 512 {
		return validation("Description", "at most 512 characters")
	}
	switch in.state {
	case "", "ENABLED", "DISABLED":
	default:
		return validation("State", "must be ENABLED or DISABLED, not %q", in.state)
	}
	switch in.after {
	case "", "NONE", "DELETE":
	default:
		return validation("ActionAfterCompletion", "must be NONE or DELETE, not %q", in.after)
	}
	w := in.window
	if w == nil {
		return validation("FlexibleTimeWindow", "must be given")
	}
	switch w.GetMode() {
	case "OFF":
		if w.MaximumWindowInMinutes != nil {
			return validation("FlexibleTimeWindow.MaximumWindowInMinutes", "must not be given with Mode OFF")
		}
	case "FLEXIBLE":
		if m := w.GetMaximumWindowInMinutes(); m < 1 || m > 1440 {
			return validation("FlexibleTimeWindow.MaximumWindowInMinutes", "must be 1-1440 with Mode FLEXIBLE")
		}
	default:
		return validation("FlexibleTimeWindow.Mode", "must be OFF or FLEXIBLE, not %q", w.GetMode())
	}
	t := in.target
	if t == nil {
		return validation("Target", "must be given")
	}
	if t.GetRoleArn() == "" {
		return validation("Target.RoleArn", "must be given")
	}
	return s.cfg.Queue.CheckTarget(ctx, "Target", EventsTarget(t))
}

// EventsTarget is a schedule's target as EventBridge's delivery queue
// takes it.
func EventsTarget(t *berthv1.SchedulerTarget) *berthv1.EventsTarget {
	out := &berthv1.EventsTarget{Id: "schedule", Arn: t.GetArn(), RoleArn: t.GetRoleArn()}
	if rp := t.GetRetryPolicy(); rp != nil {
		out.RetryPolicy = &berthv1.EventsRetryPolicy{MaximumRetryAttempts: rp.MaximumRetryAttempts, MaximumEventAgeInSeconds: rp.MaximumEventAgeInSeconds}
	}
	if dl := t.GetDeadLetterConfig(); dl != nil {
		out.DeadLetterConfig = &berthv1.EventsDeadLetterConfig{Arn: dl.GetArn()}
	}
	if p := t.GetEcsParameters(); p != nil {
		ep := &berthv1.EventsEcsParameters{
			TaskDefinitionArn: p.GetTaskDefinitionArn(), TaskCount: p.TaskCount, LaunchType: p.GetLaunchType(),
			NetworkConfiguration: p.GetNetworkConfiguration(), PlatformVersion: p.GetPlatformVersion(), Group: p.GetGroup(),
			CapacityProviderStrategy: p.GetCapacityProviderStrategy(), EnableEcsManagedTags: p.GetEnableEcsManagedTags(),
			EnableExecuteCommand: p.GetEnableExecuteCommand(), PlacementConstraints: p.GetPlacementConstraints(),
			PlacementStrategy: p.GetPlacementStrategy(), PropagateTags: p.GetPropagateTags(), ReferenceId: p.GetReferenceId(),
		}
		for _, m := range p.GetTags() {
			for k, v := range m.GetFields() {
				ep.Tags = append(ep.Tags, &berthv1.EventsTag{Key: k, Value: v.GetStringValue()})
			}
		}
		out.EcsParameters = ep
	}
	return out
}

func (s *Server) record(in scheduleInput) *berthv1.ScheduleRecord {
	state := in.state
	if state == "" {
		state = "ENABLED"
	}
	after := in.after
	if after == "" {
		after = "NONE"
	}
	return &berthv1.ScheduleRecord{
		GroupName: in.group, Name: in.name, Arn: s.cfg.ARNs.Schedule(in.group, in.name),
		ScheduleExpression: in.expr, ScheduleExpressionTimezone: in.tz, StartDate: in.start, EndDate: in.end,
		Description: in.description, State: state, KmsKeyArn: in.kms, Target: in.target,
		FlexibleTimeWindow: in.window, ActionAfterCompletion: after,
	}
}

// CreateSchedule makes a schedule in its group (the default group when
// none is named).
func (s *Server) CreateSchedule(ctx context.Context, req *berthv1.CreateScheduleRequest) (*berthv1.CreateScheduleResponse, error) {
	in := scheduleInput{name: req.GetName(), group: groupOf(req.GetGroupName()), expr: req.GetScheduleExpression(), tz: req.GetScheduleExpressionTimezone(),
		description: req.GetDescription(), state: req.GetState(), kms: req.GetKmsKeyArn(), after: req.GetActionAfterCompletion(),
		start: req.StartDate, end: req.EndDate, target: req.GetTarget(), window: req.GetFlexibleTimeWindow()}
	if err := s.check(ctx, in); err != nil {
		return nil, err
	}
	g, virtual, err := s.group(in.group)
	if err != nil {
		return nil, err
	}
	at := s.at()
	rec := s.record(in)
	rec.CreationDate, rec.LastModificationDate = at, at
	w, err := s.schedules.PutWrite(scheduleKey(in.group, in.name), rec, 0)
	if err != nil {
		return nil, err
	}
	writes := []*berthv1.DocumentWrite{w}
	if virtual { // the default group is written with its first schedule
		g.CreationDate, g.LastModificationDate = at, at
		gw, err := s.groups.PutWrite(DefaultGroup, g, 0)
		if err != nil {
			return nil, err
		}
		writes = append(writes, gw)
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, at, writes...); err != nil {
		if apierr.HasReason(err, store.ReasonStale) {
			if _, exists, _ := s.schedules.Get(scheduleKey(in.group, in.name)); exists {
				return nil, apierr.New(apierr.AlreadyExists, "", "Schedule %s already exists.", in.name)
			}
		}
		return nil, err
	}
	s.poke()
	return &berthv1.CreateScheduleResponse{ScheduleArn: rec.GetArn()}, nil
}

// UpdateSchedule replaces a schedule's settings (all of them, as Scheduler
// does); the slot it fired last stays.
func (s *Server) UpdateSchedule(ctx context.Context, req *berthv1.UpdateScheduleRequest) (*berthv1.UpdateScheduleResponse, error) {
	in := scheduleInput{name: req.GetName(), group: groupOf(req.GetGroupName()), expr: req.GetScheduleExpression(), tz: req.GetScheduleExpressionTimezone(),
		description: req.GetDescription(), state: req.GetState(), kms: req.GetKmsKeyArn(), after: req.GetActionAfterCompletion(),
		start: req.StartDate, end: req.EndDate, target: req.GetTarget(), window: req.GetFlexibleTimeWindow()}
	if err := s.check(ctx, in); err != nil {
		return nil, err
	}
	at := s.at()
	stored, err := s.schedules.Update(ctx, at, scheduleKey(in.group, in.name), func(old *berthv1.ScheduleRecord, ok bool) (*berthv1.ScheduleRecord, error) {
		if !ok {
			return nil, notFound("Schedule %s does not exist.", in.name)
		}
		next := s.record(in)
		next.CreationDate, next.LastModificationDate = old.GetCreationDate(), at
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.poke()
	return &berthv1.UpdateScheduleResponse{ScheduleArn: stored.Value.GetArn()}, nil
}

// GetSchedule returns a schedule.
func (s *Server) GetSchedule(ctx context.Context, req *berthv1.GetScheduleRequest) (*berthv1.GetScheduleResponse, error) {
	group := groupOf(req.GetGroupName())
	if err := checkName("Name", req.GetName()); err != nil {
		return nil, err
	}
	rec, ok, err := s.schedules.Get(scheduleKey(group, req.GetName()))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Schedule %s does not exist.", req.GetName())
	}
	r := rec.Value
	return &berthv1.GetScheduleResponse{
		ActionAfterCompletion: r.GetActionAfterCompletion(), Arn: r.GetArn(), CreationDate: r.GetCreationDate(),
		Description: r.GetDescription(), EndDate: r.EndDate, FlexibleTimeWindow: r.GetFlexibleTimeWindow(), GroupName: r.GetGroupName(),
		KmsKeyArn: r.GetKmsKeyArn(), LastModificationDate: r.GetLastModificationDate(), Name: r.GetName(),
		ScheduleExpression: r.GetScheduleExpression(), ScheduleExpressionTimezone: r.GetScheduleExpressionTimezone(),
		StartDate: r.StartDate, State: r.GetState(), Target: r.GetTarget(),
	}, nil
}

// DeleteSchedule deletes a schedule and the record of its last slot.
func (s *Server) DeleteSchedule(ctx context.Context, req *berthv1.DeleteScheduleRequest) (*berthv1.DeleteScheduleResponse, error) {
	group := groupOf(req.GetGroupName())
	key := scheduleKey(group, req.GetName())
	rec, ok, err := s.schedules.Get(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Schedule %s does not exist.", req.GetName())
	}
	writes, err := s.deleteWrites(rec)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.DeleteScheduleResponse{}, nil
}

func (s *Server) deleteWrites(rec store.Stored[*berthv1.ScheduleRecord]) ([]*berthv1.DocumentWrite, error) {
	writes := []*berthv1.DocumentWrite{s.schedules.DeleteWrite(rec.Key, rec.Generation)}
	slot, ok, err := s.slots.Get(rec.Key)
	if err != nil {
		return nil, err
	}
	if ok {
		writes = append(writes, s.slots.DeleteWrite(slot.Key, slot.Generation))
	}
	return writes, nil
}

func pageSize(n int32) (int, error) {
	if n < 0 || n > 100 {
		return 0, validation("MaxResults", "must be 1-100")
	}
	if n == 0 {
		return 100, nil
	}
	return int(n), nil
}

// ListSchedules lists schedules by group and name.
func (s *Server) ListSchedules(ctx context.Context, req *berthv1.ListSchedulesRequest) (*berthv1.ListSchedulesResponse, error) {
	limit, err := pageSize(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	switch req.GetState() {
	case "", "ENABLED", "DISABLED":
	default:
		return nil, validation("State", "must be ENABLED or DISABLED")
	}
	prefix := ""
	if req.GetGroupName() != "" {
		prefix = req.GetGroupName() + "/"
	}
	out := &berthv1.ListSchedulesResponse{Schedules: []*berthv1.ScheduleSummary{}}
	last := ""
	err = s.schedules.List(prefix, req.GetNextToken(), func(r store.Stored[*berthv1.ScheduleRecord]) bool {
		v := r.Value
		if req.GetNamePrefix() != "" && (len(v.GetName()) < len(req.GetNamePrefix()) || v.GetName()[:len(req.GetNamePrefix())] != req.GetNamePrefix()) {
			return true
		}
		if req.GetState() != "" && v.GetState() != req.GetState() {
			return true
		}
		if len(out.Schedules) == limit {
			out.NextToken = last
			return false
		}
		out.Schedules = append(out.Schedules, &berthv1.ScheduleSummary{
			Arn: v.GetArn(), CreationDate: v.GetCreationDate(), GroupName: v.GetGroupName(), LastModificationDate: v.GetLastModificationDate(),
			Name: v.GetName(), State: v.GetState(), Target: &berthv1.SchedulerTargetSummary{Arn: v.GetTarget().GetArn()},
		})
		last = r.Key
		return true
	})
	return out, err
}

// CreateScheduleGroup makes a group.
func (s *Server) CreateScheduleGroup(ctx context.Context, req *berthv1.CreateScheduleGroupRequest) (*berthv1.CreateScheduleGroupResponse, error) {
	if err := checkName("Name", req.GetName()); err != nil {
		return nil, err
	}
	if _, virtual, err := s.group(req.GetName()); err == nil || virtual {
		return nil, apierr.New(apierr.AlreadyExists, "", "Schedule group %s already exists.", req.GetName())
	}
	at := s.at()
	g := &berthv1.ScheduleGroupRecord{Name: req.GetName(), Arn: s.cfg.ARNs.ScheduleGroup(req.GetName()), CreationDate: at, LastModificationDate: at, Tags: req.GetTags()}
	if _, err := s.groups.Put(ctx, at, req.GetName(), g, 0); err != nil {
		if apierr.HasReason(err, store.ReasonStale) {
			return nil, apierr.New(apierr.AlreadyExists, "", "Schedule group %s already exists.", req.GetName())
		}
		return nil, err
	}
	return &berthv1.CreateScheduleGroupResponse{ScheduleGroupArn: g.GetArn()}, nil
}

func groupShape(g *berthv1.ScheduleGroupRecord) *berthv1.ScheduleGroupSummary {
	return &berthv1.ScheduleGroupSummary{Arn: g.GetArn(), CreationDate: g.GetCreationDate(), LastModificationDate: g.GetLastModificationDate(), Name: g.GetName(), State: "ACTIVE"}
}

// GetScheduleGroup returns a group.
func (s *Server) GetScheduleGroup(ctx context.Context, req *berthv1.GetScheduleGroupRequest) (*berthv1.GetScheduleGroupResponse, error) {
	if err := checkName("Name", req.GetName()); err != nil {
		return nil, err
	}
	g, _, err := s.group(req.GetName())
	if err != nil {
		return nil, err
	}
	sh := groupShape(g)
	return &berthv1.GetScheduleGroupResponse{Arn: sh.Arn, CreationDate: sh.CreationDate, LastModificationDate: sh.LastModificationDate, Name: sh.Name, State: sh.State}, nil
}

// DeleteScheduleGroup deletes a group and its schedules (not the default
// group).
func (s *Server) DeleteScheduleGroup(ctx context.Context, req *berthv1.DeleteScheduleGroupRequest) (*berthv1.DeleteScheduleGroupResponse, error) {
	if err := checkName("Name", req.GetName()); err != nil {
		return nil, err
	}
	if req.GetName() == DefaultGroup {
		return nil, validation("Name", "the default group cannot be deleted")
	}
	g, ok, err := s.groups.Get(req.GetName())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Schedule group %s does not exist.", req.GetName())
	}
	writes := []*berthv1.DocumentWrite{s.groups.DeleteWrite(g.Key, g.Generation)}
	var listErr error
	err = s.schedules.List(req.GetName()+"/", "", func(r store.Stored[*berthv1.ScheduleRecord]) bool {
		w, err := s.deleteWrites(r)
		if err != nil {
			listErr = err
			return false
		}
		writes = append(writes, w...)
		return true
	})
	if err == nil {
		err = listErr
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.DeleteScheduleGroupResponse{}, nil
}

// ListScheduleGroups lists the groups by name, the default group among
// them.
func (s *Server) ListScheduleGroups(ctx context.Context, req *berthv1.ListScheduleGroupsRequest) (*berthv1.ListScheduleGroupsResponse, error) {
	limit, err := pageSize(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	var all []*berthv1.ScheduleGroupRecord
	sawDefault := false
	if err := s.groups.List("", "", func(r store.Stored[*berthv1.ScheduleGroupRecord]) bool {
		sawDefault = sawDefault || r.Key == DefaultGroup
		all = append(all, r.Value)
		return true
	}); err != nil {
		return nil, err
	}
	if !sawDefault {
		d, _, _ := s.group(DefaultGroup)
		all = append([]*berthv1.ScheduleGroupRecord{d}, all...)
		for i := 1; i < len(all) && all[i].GetName() < all[i-1].GetName(); i++ {
			all[i], all[i-1] = all[i-1], all[i]
		}
	}
	out := &berthv1.ListScheduleGroupsResponse{ScheduleGroups: []*berthv1.ScheduleGroupSummary{}}
	start := 0
	if tok := req.GetNextToken(); tok != "" {
		if start, err = strconv.Atoi(tok); err != nil || start < 0 {
			return nil, validation("NextToken", "not a token this call gave")
		}
	}
	n := 0
	for i := start; i < len(all); i++ {
		g := all[i]
		if p := req.GetNamePrefix(); p != "" && (len(g.GetName()) < len(p) || g.GetName()[:len(p)] != p) {
			continue
		}
		if n == limit {
			out.NextToken = fmt.Sprint(i)
			break
		}
		out.ScheduleGroups = append(out.ScheduleGroups, groupShape(g))
		n++
	}
	return out, nil
}
