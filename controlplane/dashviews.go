package controlplane

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/events/eventsapi"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/schedules"
	"github.com/berth/berth/schedules/schedulerapi"
	"github.com/berth/berth/store"
)

// The dashboard's panels of the services (package dashboard's views): each
// of its read-only sources is filled here from a service's API and the
// store, so that the dashboard imports none of the services. Two tallies
// live here because no service keeps them: the invocations of each
// function (with their errors and cold starts), counted as they pass
// through Lambda's Invoker, and the events delivered to each rule's and
// schedule's targets, counted from the store's watch of the deliveries
// queue (a delivery deleted was taken, unless a dead letter was written
// with it).

// invocationWindow is how far back a function's recent invocations go, and
// invocationsKept how many of them are kept per function.
const (
	invocationWindow = 5 * time.Minute
	invocationsKept  = 4096
)

// dashViews holds the tallies.
type dashViews struct {
	c *ControlPlane

	mu          sync.Mutex
	invocations map[string]*invocationTally // by function name
	deliveries  map[string]*deliveryTally   // by source + "\x00" + target id
}

type invocationTally struct {
	ring        []invocationMark // the latest invocationsKept, oldest first once full
	next        int
	total, errs int64
	lastErr     string
}

type invocationMark struct {
	at        time.Time
	err, cold bool
}

type deliveryTally struct {
	matched, taken         int64
	lastMatched, lastTaken time.Time
	prevTaken              time.Time // lastTaken before the latest deletion
	lastDelRev             uint64    // the store revision of the latest deletion
}

// dashViews is the control plane's tallies, made at first use (in Start).
func (c *ControlPlane) dashViews() *dashViews {
	if c.views == nil {
		c.views = &dashViews{c: c, invocations: map[string]*invocationTally{}, deliveries: map[string]*deliveryTally{}}
	}
	return c.views
}

// withViews fills in cfg's panel sources and the load generator's control,
// and starts the deliveries' tally and the load generator, which Shutdown
// stops with the other loops.
func (c *ControlPlane) withViews(cfg dashboard.Config) dashboard.Config {
	v := c.dashViews()
	cfg.Functions = functionsView{v}
	cfg.Buckets = bucketsView{c}
	cfg.Rules = rulesView{v}
	cfg.Schedules = schedulesView{v}
	cfg.LoadBalancers = loadBalancersView{c}
	cfg.Scaling = scalingView{c}
	cfg.Load = loadControl{c}
	ctx, cancel := context.WithCancel(context.Background())
	stop := c.stopLoops
	c.stopLoops = func() { cancel(); stop() }
	c.loops.Add(1)
	go func() { defer c.loops.Done(); v.tallyDeliveries(ctx) }()
	c.startLoadGenerator(ctx)
	return cfg
}

// countInvocations wraps Lambda's Invoker to count each function's
// invocations.
func (v *dashViews) countInvocations(next invoke.Invoker) invoke.Invoker {
	return countingInvoker{v: v, next: next}
}

type countingInvoker struct {
	v    *dashViews
	next invoke.Invoker
}

func (i countingInvoker) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	res, err := i.next.Invoke(ctx, req)
	why := res.FunctionError
	if err != nil {
		why = err.Error()
	}
	i.v.invoked(req.Function.Name, why, res.InitDuration > 0)
	return res, err
}

func (v *dashViews) invoked(name, why string, cold bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.invocations[name]
	if t == nil {
		t = &invocationTally{}
		v.invocations[name] = t
	}
	m := invocationMark{at: time.Now(), err: why != "", cold: cold}
	if len(t.ring) < invocationsKept {
		t.ring = append(t.ring, m)
	} else {
		t.ring[t.next] = m
		t.next = (t.next + 1) % invocationsKept
	}
	t.total++
	if m.err {
		t.errs++
		t.lastErr = why
	}
}

// invocationsOf is a function's tally as the dashboard shows it.
func (v *dashViews) invocationsOf(name string, now time.Time) dashboard.Invocations {
	out := dashboard.Invocations{WindowSeconds: int(invocationWindow / time.Second)}
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.invocations[name]
	if t == nil {
		return out
	}
	out.Total, out.TotalErrors, out.LastError = t.total, t.errs, t.lastErr
	lastMinute := 0
	for _, m := range t.ring {
		age := now.Sub(m.at)
		if age > invocationWindow {
			continue
		}
		out.Recent++
		if m.err {
			out.Errors++
		}
		if m.cold {
			out.ColdStarts++
		}
		if age <= time.Minute {
			lastMinute++
		}
		if at := secsOf(m.at); at > out.LastAt {
			out.LastAt = at
		}
	}
	out.PerSecond = float64(lastMinute) / 60
	return out
}

// tallyDeliveries counts the deliveries queued, taken and given up on from
// the store's watch until ctx ends. A watch cut off for falling behind is
// taken up again (what passed meanwhile is not counted).
func (v *dashViews) tallyDeliveries(ctx context.Context) {
	for ctx.Err() == nil {
		for e := range v.c.store.Watch(ctx) {
			if e.Kind == store.KindDocument {
				v.observe(e)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (v *dashViews) observe(e store.Event) {
	coll, _, _ := strings.Cut(e.Key, "\x00")
	doc, ok := e.Value.(*berthv1.Document)
	if !ok {
		return
	}
	switch coll {
	case eventsapi.CollectionDeliveries:
		var d berthv1.EventDeliveryRecord
		if proto.Unmarshal(doc.GetValue(), &d) != nil {
			return
		}
		v.mu.Lock()
		t := v.delivery(d.GetSource(), d.GetTarget().GetId())
		switch {
		case e.Deleted:
			t.taken++
			t.prevTaken, t.lastTaken, t.lastDelRev = t.lastTaken, time.Now(), e.Revision
		case doc.GetGeneration() == 1:
			t.matched++
			t.lastMatched = time.Now()
		}
		v.mu.Unlock()
	case eventsapi.CollectionDeadLetters:
		if e.Deleted {
			return
		}
		var d berthv1.EventDeadLetterRecord
		if proto.Unmarshal(doc.GetValue(), &d) != nil {
			return
		}
		v.mu.Lock()
		t := v.delivery(d.GetSource(), d.GetTargetId())
		if t.lastDelRev == e.Revision && t.taken > 0 { // its deletion was no delivery
			t.taken--
			t.lastTaken = t.prevTaken
		}
		v.mu.Unlock()
	}
}

// delivery is the tally of a source's target; under mu.
func (v *dashViews) delivery(source, target string) *deliveryTally {
	k := source + "\x00" + target
	t := v.deliveries[k]
	if t == nil {
		t = &deliveryTally{}
		v.deliveries[k] = t
	}
	return t
}

// targetView is a target of source with its tally, the deliveries pending
// and the dead letters in the store.
func (v *dashViews) targetView(source, id, targetArn string, pending map[string][]*berthv1.EventDeliveryRecord, dead map[string][]*berthv1.EventDeadLetterRecord) dashboard.RuleTarget {
	k := source + "\x00" + id
	out := dashboard.RuleTarget{ID: id, ARN: targetArn, Kind: arnService(targetArn)}
	v.mu.Lock()
	if t := v.deliveries[k]; t != nil {
		out.Matched, out.Delivered = t.matched, t.taken
		out.LastDeliveredAt = secsOf(t.lastTaken)
	}
	v.mu.Unlock()
	for _, d := range pending[k] {
		out.Pending++
		if d.GetLastError() != "" {
			out.LastError = d.GetLastError()
		}
	}
	for _, d := range dead[k] {
		out.Failed++
		if d.GetAt() >= out.LastFailedAt {
			out.LastFailedAt = d.GetAt()
			if out.LastError == "" {
				out.LastError = d.GetError()
			}
		}
	}
	return out
}

// lastMatched is when source last queued an event for any target.
func (v *dashViews) lastMatched(source string) float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var last time.Time
	for k, t := range v.deliveries {
		if strings.HasPrefix(k, source+"\x00") && t.lastMatched.After(last) {
			last = t.lastMatched
		}
	}
	return secsOf(last)
}

// queues reads the pending deliveries and the dead letters, by source and
// target id.
func (v *dashViews) queues() (map[string][]*berthv1.EventDeliveryRecord, map[string][]*berthv1.EventDeadLetterRecord, error) {
	st := v.c.store
	pending := map[string][]*berthv1.EventDeliveryRecord{}
	dead := map[string][]*berthv1.EventDeadLetterRecord{}
	deliveries := store.Collection[*berthv1.EventDeliveryRecord]{Store: st, Name: eventsapi.CollectionDeliveries, New: func() *berthv1.EventDeliveryRecord { return &berthv1.EventDeliveryRecord{} }}
	err := deliveries.List("", "", func(r store.Stored[*berthv1.EventDeliveryRecord]) bool {
		k := r.Value.GetSource() + "\x00" + r.Value.GetTarget().GetId()
		pending[k] = append(pending[k], r.Value)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	letters := store.Collection[*berthv1.EventDeadLetterRecord]{Store: st, Name: eventsapi.CollectionDeadLetters, New: func() *berthv1.EventDeadLetterRecord { return &berthv1.EventDeadLetterRecord{} }}
	err = letters.List("", "", func(r store.Stored[*berthv1.EventDeadLetterRecord]) bool {
		k := r.Value.GetSource() + "\x00" + r.Value.GetTargetId()
		dead[k] = append(dead[k], r.Value)
		return true
	})
	return pending, dead, err
}

// functionsView is Lambda's functions ($LATEST), their environments in
// berth's runner and their tallies.
type functionsView struct{ v *dashViews }

func (f functionsView) Functions(ctx context.Context) ([]dashboard.Function, error) {
	c := f.v.c
	envs := map[string]*dashboard.Environments{}
	if r := c.runner.Load(); r != nil {
		for _, e := range r.pool.Stats() {
			name := functionName(e.FunctionARN)
			if envs[name] == nil {
				envs[name] = &dashboard.Environments{}
			}
			switch e.State {
			case "starting":
				envs[name].Starting++
			case "busy":
				envs[name].Busy++
			case "idle":
				envs[name].Idle++
			default:
				envs[name].Stopping++
			}
		}
	}
	now := time.Now()
	var out []dashboard.Function
	req := &berthv1.LambdaListFunctionsRequest{}
	for {
		resp, err := c.lambda.ListFunctions(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, fn := range resp.GetFunctions() {
			d := dashboard.Function{
				Name: fn.GetFunctionName(), ARN: fn.GetFunctionArn(), Runtime: fn.GetRuntime(), PackageType: fn.GetPackageType(),
				MemoryMB: fn.GetMemorySize(), TimeoutSeconds: fn.GetTimeout(), State: fn.GetState(), LastUpdateStatus: fn.GetLastUpdateStatus(),
				Invocations: f.v.invocationsOf(fn.GetFunctionName(), now),
			}
			if e := envs[fn.GetFunctionName()]; e != nil {
				d.Environments = *e
			}
			if rc, err := c.lambda.GetFunctionConcurrency(ctx, &berthv1.LambdaGetFunctionConcurrencyRequest{FunctionName: fn.GetFunctionName()}); err == nil {
				d.ReservedConcurrency = rc.ReservedConcurrentExecutions
			}
			out = append(out, d)
		}
		if resp.GetNextMarker() == "" {
			return out, nil
		}
		req.Marker = resp.GetNextMarker()
	}
}

// functionName is the name in a function's (qualified) ARN.
func functionName(a string) string {
	parts := strings.Split(a, ":")
	if len(parts) >= 7 {
		return parts[6]
	}
	return a
}

// arnService is the service of an ARN ("lambda", "ecs"), "" for none.
func arnService(a string) string {
	parts := strings.SplitN(a, ":", 4)
	if len(parts) < 3 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// bucketsView is S3's buckets with their object counts.
type bucketsView struct{ c *ControlPlane }

func (b bucketsView) Buckets(ctx context.Context) ([]dashboard.Bucket, error) {
	be := b.c.s3.Backend()
	infos, err := be.ListBuckets()
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Bucket, 0, len(infos))
	for _, bi := range infos {
		n, ok := be.ObjectCount(bi.Name)
		if !ok {
			continue // deleted since it was listed
		}
		out = append(out, dashboard.Bucket{Name: bi.Name, CreatedAt: secsOf(bi.CreationDate.Time), Objects: n})
	}
	return out, nil
}

// rulesView is EventBridge's rules with their targets and deliveries.
type rulesView struct{ v *dashViews }

func (r rulesView) Rules(ctx context.Context) ([]dashboard.Rule, error) {
	st := r.v.c.store
	pending, dead, err := r.v.queues()
	if err != nil {
		return nil, err
	}
	slots := store.Collection[*berthv1.EventSlotRecord]{Store: st, Name: eventsapi.CollectionSlots, New: func() *berthv1.EventSlotRecord { return &berthv1.EventSlotRecord{} }}
	rules := store.Collection[*berthv1.EventRuleRecord]{Store: st, Name: eventsapi.CollectionRules, New: func() *berthv1.EventRuleRecord { return &berthv1.EventRuleRecord{} }}
	now := time.Now()
	var out []dashboard.Rule
	err = rules.List("", "", func(s store.Stored[*berthv1.EventRuleRecord]) bool {
		rec := s.Value
		source := "rule/" + rec.GetName()
		d := dashboard.Rule{Name: rec.GetName(), State: rec.GetState(), EventPattern: rec.GetEventPattern(), Schedule: rec.GetScheduleExpression(),
			Description: rec.GetDescription(), LastMatchedAt: r.v.lastMatched(source), Targets: []dashboard.RuleTarget{}}
		for _, t := range rec.GetTargets() {
			d.Targets = append(d.Targets, r.v.targetView(source, t.GetId(), t.GetArn(), pending, dead))
		}
		if rec.GetScheduleExpression() != "" && rec.GetState() == "ENABLED" {
			if expr, err := schedules.Parse("ScheduleExpression", rec.GetScheduleExpression(), false); err == nil {
				anchor := secsTime(rec.GetCreatedAt())
				after := now
				if slot, ok, _ := slots.Get(source); ok && secsTime(slot.Value.GetSlot()).After(after) {
					after = secsTime(slot.Value.GetSlot())
				}
				if next, ok := expr.Next(after, anchor, time.UTC); ok {
					d.NextFire = secsOf(next)
				}
			}
		}
		out = append(out, d)
		return true
	})
	return out, err
}

// schedulesView is EventBridge Scheduler's schedules with their next and
// last fire times.
type schedulesView struct{ v *dashViews }

func (s schedulesView) Schedules(ctx context.Context) ([]dashboard.Schedule, error) {
	st := s.v.c.store
	pending, dead, err := s.v.queues()
	if err != nil {
		return nil, err
	}
	slots := store.Collection[*berthv1.EventSlotRecord]{Store: st, Name: schedulerapi.CollectionSlots, New: func() *berthv1.EventSlotRecord { return &berthv1.EventSlotRecord{} }}
	list := store.Collection[*berthv1.ScheduleRecord]{Store: st, Name: schedulerapi.CollectionSchedules, New: func() *berthv1.ScheduleRecord { return &berthv1.ScheduleRecord{} }}
	now := time.Now()
	var out []dashboard.Schedule
	var errs []error
	err = list.List("", "", func(r store.Stored[*berthv1.ScheduleRecord]) bool {
		rec := r.Value
		target := schedulerapi.EventsTarget(rec.GetTarget())
		d := dashboard.Schedule{Group: rec.GetGroupName(), Name: rec.GetName(), Expression: rec.GetScheduleExpression(),
			Timezone: rec.GetScheduleExpressionTimezone(), State: rec.GetState(),
			Target: s.v.targetView("schedule/"+r.Key, target.GetId(), target.GetArn(), pending, dead)}
		var last *time.Time
		slot, ok, err := slots.Get(r.Key)
		if err != nil {
			errs = append(errs, err)
			return true
		}
		if ok {
			t := secsTime(slot.Value.GetSlot())
			last, d.LastFire = &t, secsOf(t)
		}
		if rec.GetState() == "ENABLED" {
			d.NextFire = nextFire(rec, last, now)
		}
		out = append(out, d)
		return true
	})
	return out, errors.Join(append(errs, err)...)
}

// nextFire is a schedule's next slot after now (and after the slot fired
// last), within its StartDate and EndDate, as the scheduler decides its
// slots (schedulerapi.Slot); 0 when none will come.
func nextFire(rec *berthv1.ScheduleRecord, last *time.Time, now time.Time) float64 {
	expr, err := schedules.Parse("ScheduleExpression", rec.GetScheduleExpression(), true)
	if err != nil {
		return 0
	}
	loc := time.UTC
	if tz := rec.GetScheduleExpressionTimezone(); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return 0
		}
	}
	anchor := secsTime(rec.GetCreationDate())
	if rec.StartDate != nil {
		anchor = secsTime(rec.GetStartDate())
	}
	after := now
	if anchor.After(after) {
		after = anchor
		if expr.Kind != schedules.KindRate {
			after = anchor.Add(-time.Nanosecond) // a cron or at slot may fall at the start
		}
	}
	if last != nil && last.After(after) {
		after = *last
	}
	next, ok := expr.Next(after, anchor, loc)
	if !ok || rec.EndDate != nil && next.After(secsTime(rec.GetEndDate())) {
		return 0
	}
	return secsOf(next)
}

// loadBalancersView is Elastic Load Balancing's load balancers, listeners
// and target groups, with each group's RequestCount from /metrics.
type loadBalancersView struct{ c *ControlPlane }

func (l loadBalancersView) LoadBalancing(ctx context.Context) ([]dashboard.LoadBalancer, []dashboard.TargetGroup, error) {
	elb := l.c.elb
	var lbs []*berthv1.ELBLoadBalancer
	lreq := &berthv1.ELBDescribeLoadBalancersRequest{}
	for {
		resp, err := elb.DescribeLoadBalancers(ctx, lreq)
		if err != nil {
			return nil, nil, err
		}
		lbs = append(lbs, resp.GetLoadBalancers()...)
		if resp.GetNextMarker() == "" {
			break
		}
		lreq.Marker = resp.GetNextMarker()
	}
	names := map[string]string{} // load balancer ARN -> name
	tgNames := map[string]string{}
	var tgs []*berthv1.ELBTargetGroup
	treq := &berthv1.ELBDescribeTargetGroupsRequest{}
	for {
		resp, err := elb.DescribeTargetGroups(ctx, treq)
		if err != nil {
			return nil, nil, err
		}
		tgs = append(tgs, resp.GetTargetGroups()...)
		if resp.GetNextMarker() == "" {
			break
		}
		treq.Marker = resp.GetNextMarker()
	}
	for _, tg := range tgs {
		tgNames[tg.GetTargetGroupArn()] = tg.GetTargetGroupName()
	}
	outLBs := make([]dashboard.LoadBalancer, 0, len(lbs))
	for _, lb := range lbs {
		names[lb.GetLoadBalancerArn()] = lb.GetLoadBalancerName()
		d := dashboard.LoadBalancer{Name: lb.GetLoadBalancerName(), ARN: lb.GetLoadBalancerArn(), DNSName: lb.GetDnsName(),
			State: lb.GetState().GetCode(), Listeners: []dashboard.Listener{}}
		req := &berthv1.ELBDescribeListenersRequest{LoadBalancerArn: lb.GetLoadBalancerArn()}
		for {
			resp, err := elb.DescribeListeners(ctx, req)
			if err != nil {
				return nil, nil, err
			}
			for _, ls := range resp.GetListeners() {
				dl := dashboard.Listener{ARN: ls.GetListenerArn(), Port: ls.GetPort(), Protocol: ls.GetProtocol(),
					Addr: l.c.lbProxy.Addr(ls.GetListenerArn()), Default: actionText(ls.GetDefaultActions(), tgNames)}
				if rules, err := elb.DescribeRules(ctx, &berthv1.ELBDescribeRulesRequest{ListenerArn: ls.GetListenerArn()}); err == nil {
					for _, r := range rules.GetRules() {
						if !r.GetIsDefault() {
							dl.Rules++
						}
					}
				}
				d.Listeners = append(d.Listeners, dl)
			}
			if resp.GetNextMarker() == "" {
				break
			}
			req.Marker = resp.GetNextMarker()
		}
		outLBs = append(outLBs, d)
	}
	requests := l.c.elbRequestCounts()
	outTGs := make([]dashboard.TargetGroup, 0, len(tgs))
	for _, tg := range tgs {
		d := dashboard.TargetGroup{Name: tg.GetTargetGroupName(), ARN: tg.GetTargetGroupArn(), Protocol: tg.GetProtocol(), Port: tg.GetPort(),
			TargetType: tg.GetTargetType(), HealthCheckPath: tg.GetHealthCheckPath(), LoadBalancers: []string{}, Targets: []dashboard.Target{},
			Requests: requests[tgDimension(tg.GetTargetGroupArn())]}
		for _, a := range tg.GetLoadBalancerArns() {
			d.LoadBalancers = append(d.LoadBalancers, names[a])
		}
		health, err := elb.DescribeTargetHealth(ctx, &berthv1.ELBDescribeTargetHealthRequest{TargetGroupArn: tg.GetTargetGroupArn()})
		if err != nil {
			continue // deleted since it was listed
		}
		for _, h := range health.GetTargetHealthDescriptions() {
			t := dashboard.Target{ID: h.GetTarget().GetId(), Port: h.GetTarget().GetPort(), State: h.GetTargetHealth().GetState(),
				Reason: h.GetTargetHealth().GetReason(), Description: h.GetTargetHealth().GetDescription()}
			if t.State == "healthy" {
				d.Healthy++
			}
			d.Targets = append(d.Targets, t)
		}
		outTGs = append(outTGs, d)
	}
	return outLBs, outTGs, nil
}

// actionText is a listener's default actions in words.
func actionText(actions []*berthv1.ELBAction, tgNames map[string]string) string {
	var parts []string
	for _, a := range actions {
		switch a.GetType() {
		case "forward":
			var to []string
			if a.GetTargetGroupArn() != "" {
				to = append(to, tgNames[a.GetTargetGroupArn()])
			}
			for _, t := range a.GetForwardConfig().GetTargetGroups() {
				if t.GetTargetGroupArn() != a.GetTargetGroupArn() {
					to = append(to, tgNames[t.GetTargetGroupArn()])
				}
			}
			parts = append(parts, "forward to "+strings.Join(to, ", "))
		case "fixed-response":
			parts = append(parts, "fixed response "+a.GetFixedResponseConfig().GetStatusCode())
		default:
			parts = append(parts, a.GetType())
		}
	}
	return strings.Join(parts, "; ")
}

// tgDimension is ELB's TargetGroup dimension of a target group ARN, the
// label of its metrics.
func tgDimension(a string) string {
	if i := strings.Index(a, ":targetgroup/"); i >= 0 {
		return a[i+1:]
	}
	return a
}

// elbRequestCounts reads berth_elb_request_count_total by target group
// from the control plane's metrics.
func (c *ControlPlane) elbRequestCounts() map[string]float64 {
	out := map[string]float64{}
	families, err := c.metrics.registry.Gather()
	if err != nil {
		return out
	}
	for _, f := range families {
		if f.GetName() != "berth_elb_request_count_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "target_group" {
					out[lp.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func secsOf(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func secsTime(s float64) time.Time { return time.Unix(0, int64(s*1e9)) }
