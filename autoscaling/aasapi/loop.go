package aasapi

import (
	"context"
	"fmt"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/ecs/taskmetrics"
	"github.com/berth/berth/store"
)

// Run evaluates every target's policies once an evaluation period until
// ctx ends.
func (s *Server) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.EvaluationPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.Evaluate(ctx)
		}
	}
}

// Evaluate is one evaluation of every target (the loop's tick).
func (s *Server) Evaluate(ctx context.Context) {
	now := s.cfg.Now()
	s.cfg.Metrics.Prune(now)
	var targets []store.Stored[*berthv1.AutoscalingTargetRecord]
	if err := s.targets.List("", "", func(r store.Stored[*berthv1.AutoscalingTargetRecord]) bool {
		targets = append(targets, r)
		return true
	}); err != nil {
		s.cfg.Logger.Warn("autoscaling: list targets", "err", err)
		return
	}
	counts := s.requestCounts(now)
	for _, t := range targets {
		if err := s.evaluate(ctx, t, now, counts); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("autoscaling: evaluate", "resource", t.Key, "err", err)
		}
	}
}

// requestCounts is each target group's request rate since the loop last
// read its count, per minute, over the time that actually passed (a tick
// the ticker dropped on a busy machine must not double the rate), and its
// healthy targets. Each target group is read once an evaluation: every
// policy on it sees the same datapoint, none at the first read.
func (s *Server) requestCounts(now time.Time) func(tg string) (perMinute float64, healthy int, ok bool) {
	seen := map[string]requestRate{}
	return func(tg string) (float64, int, bool) {
		if s.cfg.Requests == nil {
			return 0, 0, false
		}
		if d, ok := seen[tg]; ok {
			return d.perMinute, d.healthy, d.ok
		}
		d := s.readCount(tg, now)
		seen[tg] = d
		return d.perMinute, d.healthy, d.ok
	}
}

// requestRate is a target group's datapoint: requests per minute and
// healthy targets; ok false when there is none.
type requestRate struct {
	perMinute float64
	healthy   int
	ok        bool
}

// readCount reads a target group's count and turns it into a rate since
// the previous read.
func (s *Server) readCount(tg string, now time.Time) (d requestRate) {
	total, healthy, ok := s.cfg.Requests(tg)
	if !ok {
		delete(s.requests, tg)
		return d
	}
	prev, had := s.requests[tg]
	s.requests[tg] = requestMark{count: total, at: now}
	elapsed := now.Sub(prev.at)
	if !had || total < prev.count || elapsed <= 0 {
		return d // the first read, or the counter started over
	}
	d.perMinute = (total - prev.count) * float64(time.Minute) / float64(elapsed)
	d.healthy, d.ok = healthy, true
	return d
}

// metric is a policy's datapoint for the service.
func (s *Server) metric(tt autoscaling.TargetTracking, tasks []taskmetrics.TaskRef, since time.Time, counts func(string) (float64, int, bool)) (float64, bool) {
	switch tt.Metric {
	case autoscaling.MetricCPU:
		u := s.cfg.Metrics.Average(tasks, since)
		return u.CPU, u.CPUOK
	case autoscaling.MetricMemory:
		u := s.cfg.Metrics.Average(tasks, since)
		return u.Memory, u.MemoryOK
	case autoscaling.MetricALBRequestCount:
		perMinute, healthy, ok := counts(autoscaling.TargetGroupSuffix(tt.ResourceLabel))
		if !ok || healthy == 0 {
			return 0, false
		}
		return perMinute / float64(healthy), true
	}
	return 0, false
}

func (s *Server) evaluate(ctx context.Context, t store.Stored[*berthv1.AutoscalingTargetRecord], now time.Time, counts func(string) (float64, int, bool)) error {
	cluster, name, err := autoscaling.ParseResourceID(t.Key)
	if err != nil {
		return err
	}
	svc, err := s.cfg.Store.Service(cluster, name)
	if err != nil || svc.GetService().GetStatus() != "ACTIVE" {
		return nil // the service is gone; its target stays until deregistered, as in AWS
	}
	current := svc.GetService().GetDesiredCount()
	var tasks []taskmetrics.TaskRef
	for _, tr := range s.cfg.Store.TasksOfGroup(cluster, "service:"+name) {
		if tr.GetTask().GetLastStatus() != "RUNNING" {
			continue
		}
		ref := taskmetrics.TaskRef{ARN: tr.GetTask().GetTaskArn()}
		if tr.GetInstanceId() != "" {
			ref.Instance = s.cfg.ARNs.ContainerInstance(cluster, tr.GetInstanceId())
		}
		tasks = append(tasks, ref)
	}
	tgt := t.Value.GetTarget()
	b := autoscaling.Bounds{
		Min: tgt.GetMinCapacity(), Max: tgt.GetMaxCapacity(),
		LastScaleOut: fromSeconds(t.Value.GetLastScaleOut()), LastScaleIn: fromSeconds(t.Value.GetLastScaleIn()),
		ScaleInHalted: tgt.GetSuspendedState().GetDynamicScalingInSuspended(), ScaleOutHalted: tgt.GetSuspendedState().GetDynamicScalingOutSuspended(),
	}
	since := now.Add(-s.cfg.EvaluationPeriod)
	var policies []store.Stored[*berthv1.AutoscalingPolicyRecord]
	if err := s.policies.List(t.Key+":", "", func(p store.Stored[*berthv1.AutoscalingPolicyRecord]) bool {
		policies = append(policies, p)
		return true
	}); err != nil {
		return err
	}
	var proposals []autoscaling.Proposal
	type update struct {
		key    string
		alarms autoscaling.Alarms
		metric float64
		ok     bool
	}
	var updates []update
	for _, p := range policies {
		pol := p.Value.GetPolicy()
		if pol.GetPolicyType() != autoscaling.PolicyTargetTracking {
			continue // step scaling needs a CloudWatch alarm, which berth does not have
		}
		tt := trackingConfig(pol.GetTargetTrackingScalingPolicyConfiguration())
		m, ok := s.metric(tt, tasks, since, counts)
		alarms := autoscaling.Alarms{High: p.Value.GetHighDatapoints(), Low: p.Value.GetLowDatapoints()}
		pr := autoscaling.TrackTarget(pol.GetPolicyName(), tt, alarms, m, ok, current, b, now)
		proposals = append(proposals, pr)
		updates = append(updates, update{p.Key, pr.Alarms, m, ok})
	}
	d := autoscaling.Decide(current, b, proposals)
	scaled := d.Desired != current
	if scaled {
		for i := range updates {
			updates[i].alarms = autoscaling.Alarms{} // the metric must show the new capacity first
		}
	}
	for _, u := range updates {
		if _, err := s.policies.Update(ctx, s.at(), u.key, func(old *berthv1.AutoscalingPolicyRecord, ok bool) (*berthv1.AutoscalingPolicyRecord, error) {
			if !ok {
				return nil, errGone
			}
			old.HighDatapoints, old.LowDatapoints, old.LastMetric = u.alarms.High, u.alarms.Low, u.metric
			old.LastMetricOk, old.LastEvaluated = u.ok, float64(now.UnixMilli())/1000
			return old, nil
		}); err != nil && err != errGone {
			return err
		}
	}
	if !scaled {
		return nil
	}
	return s.scale(ctx, t.Key, cluster, name, current, d, now)
}

var errGone = fmt.Errorf("deleted meanwhile")

func fromSeconds(v float64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(v * 1000))
}

// scale sets the service's desired count through ECS's UpdateService and
// records the activity and the cooldown's start.
func (s *Server) scale(ctx context.Context, id, cluster, name string, current int32, d autoscaling.Decision, now time.Time) error {
	act := &berthv1.ScalingActivity{
		ActivityId: uuid(), ServiceNamespace: autoscaling.NamespaceECS, ResourceId: id, ScalableDimension: autoscaling.DimensionDesiredCount,
		Description: d.Description, Cause: d.Cause, StartTime: s.at(),
		Details: fmt.Sprintf("desired count %d -> %d", current, d.Desired),
	}
	_, err := s.cfg.ECS.UpdateService(ctx, &berthv1.UpdateServiceRequest{Cluster: cluster, Service: name, DesiredCount: &d.Desired})
	act.EndTime = s.at()
	if err != nil {
		act.StatusCode, act.StatusMessage = autoscaling.StatusFailed, "Failed to set desired count: "+err.Error()
	} else {
		act.StatusCode, act.StatusMessage = autoscaling.StatusSuccessful, fmt.Sprintf("Successfully set desired count to %d. Change successfully fulfilled by ecs.", d.Desired)
		s.cfg.Logger.Info("autoscaling: scaled", "resource", id, "from", current, "to", d.Desired, "cause", d.Cause)
	}
	if _, perr := s.activities.Put(ctx, act.StartTime, activityKey(id, act.StartTime, act.ActivityId), &berthv1.AutoscalingActivityRecord{Activity: act}, 0); perr != nil {
		return perr
	}
	s.trimActivities(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.targets.Update(ctx, s.at(), id, func(old *berthv1.AutoscalingTargetRecord, ok bool) (*berthv1.AutoscalingTargetRecord, error) {
		if !ok {
			return nil, errGone
		}
		at := float64(now.UnixMilli()) / 1000
		if d.Out {
			old.LastScaleOut = at
		} else {
			old.LastScaleIn = at
		}
		return old, nil
	})
	if err == errGone {
		return nil
	}
	return err
}

// trimActivities keeps a target's newest MaxActivities activities.
func (s *Server) trimActivities(ctx context.Context, id string) {
	var all []store.Stored[*berthv1.AutoscalingActivityRecord]
	_ = s.activities.List(id+":", "", func(r store.Stored[*berthv1.AutoscalingActivityRecord]) bool {
		all = append(all, r)
		return true
	})
	for i := 0; i+MaxActivities < len(all); i++ { // keys sort oldest first
		_ = s.activities.Delete(ctx, s.at(), all[i].Key, all[i].Generation)
	}
}
