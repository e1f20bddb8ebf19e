package controlplane

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/dashboard/loadgen"
	"github.com/berth/berth/store"
)

// The dashboard's scaling panel: Application Auto Scaling's scalable
// targets with the service's counts, their policies with the metric the
// loop evaluated last against the target, their latest activities (read
// from aasapi's collections), and the classroom load generator, which the
// control plane owns: it is closed with the other loops at Shutdown. The
// generator of a target sends to a listener of the load balancer its
// ALBRequestCountPerTarget policy names, on loopback only.

// scalingActivitiesShown is how many of a target's latest activities the
// panel shows.
const scalingActivitiesShown = 5

// startLoadGenerator makes the load generator and closes it when ctx ends,
// as one of the loops Shutdown waits for.
func (c *ControlPlane) startLoadGenerator(ctx context.Context) {
	c.loadgen = loadgen.New(nil)
	c.loops.Add(1)
	go func() {
		defer c.loops.Done()
		<-ctx.Done()
		c.loadgen.Close()
	}()
}

// policiesOf reads a target's policies.
func (c *ControlPlane) policiesOf(resourceID string) ([]*berthv1.AutoscalingPolicyRecord, error) {
	_, policies, _ := c.autoscaling.Records()
	var out []*berthv1.AutoscalingPolicyRecord
	err := policies.List(resourceID+":", "", func(r store.Stored[*berthv1.AutoscalingPolicyRecord]) bool {
		out = append(out, r.Value)
		return true
	})
	return out, err
}

// scalingView is the scaling panel's source.
type scalingView struct{ c *ControlPlane }

func (s scalingView) ScalableTargets(ctx context.Context) ([]dashboard.ScalableTarget, error) {
	c := s.c
	targets, policies, activities := c.autoscaling.Records()
	var recs []*berthv1.AutoscalingTargetRecord
	if err := targets.List("", "", func(r store.Stored[*berthv1.AutoscalingTargetRecord]) bool {
		recs = append(recs, r.Value)
		return true
	}); err != nil {
		return nil, err
	}
	pols := map[string][]*berthv1.AutoscalingPolicyRecord{}
	if err := policies.List("", "", func(r store.Stored[*berthv1.AutoscalingPolicyRecord]) bool {
		id := r.Value.GetPolicy().GetResourceId()
		pols[id] = append(pols[id], r.Value)
		return true
	}); err != nil {
		return nil, err
	}
	acts := map[string][]*berthv1.AutoscalingActivityRecord{} // oldest first, as the keys sort
	if err := activities.List("", "", func(r store.Stored[*berthv1.AutoscalingActivityRecord]) bool {
		id := r.Value.GetActivity().GetResourceId()
		acts[id] = append(acts[id], r.Value)
		return true
	}); err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]dashboard.ScalableTarget, 0, len(recs))
	for _, rec := range recs {
		id := rec.GetTarget().GetResourceId()
		var svc *berthv1.Service
		if cluster, name, err := autoscaling.ParseResourceID(id); err == nil {
			if r, err := c.store.Service(cluster, name); err == nil {
				svc = r.GetService()
			}
		}
		d := scalableTarget(rec.GetTarget(), svc, pols[id], acts[id])
		if label := albLabel(pols[id]); label == "" {
			d.LoadNote = "no target tracking policy on " + autoscaling.MetricALBRequestCount
		} else if url, err := c.loadURL(ctx, label); err != nil {
			d.LoadNote = apierr.From(err).Message
		} else {
			d.LoadTarget = url
		}
		if c.loadgen != nil {
			if run, ok := c.loadgen.Status(id); ok {
				d.Load = dashboard.LoadRunOf(run, now)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// scalableTarget is a target as the panel shows it: its bounds, its
// service's counts (svc nil: the service is gone), its policies and its
// latest activities (acts oldest first).
func scalableTarget(t *berthv1.ScalableTarget, svc *berthv1.Service, pols []*berthv1.AutoscalingPolicyRecord, acts []*berthv1.AutoscalingActivityRecord) dashboard.ScalableTarget {
	d := dashboard.ScalableTarget{ResourceID: t.GetResourceId(), Dimension: t.GetScalableDimension(), Min: t.GetMinCapacity(), Max: t.GetMaxCapacity(),
		Policies: []dashboard.ScalingPolicy{}, Activities: []dashboard.ScalingActivity{}}
	var notes []string
	switch {
	case svc == nil:
		notes = append(notes, "the service is gone")
	case svc.GetStatus() != "ACTIVE":
		notes = append(notes, "the service is "+svc.GetStatus())
		fallthrough
	default:
		d.Desired, d.Running = svc.GetDesiredCount(), svc.GetRunningCount()
	}
	ss := t.GetSuspendedState()
	if ss.GetDynamicScalingOutSuspended() {
		notes = append(notes, "scale-out suspended")
	}
	if ss.GetDynamicScalingInSuspended() {
		notes = append(notes, "scale-in suspended")
	}
	d.Description = strings.Join(notes, "; ")
	for _, rec := range pols {
		p := rec.GetPolicy()
		dp := dashboard.ScalingPolicy{Name: p.GetPolicyName(), Type: p.GetPolicyType()}
		if tt := p.GetTargetTrackingScalingPolicyConfiguration(); tt != nil {
			spec := tt.GetPredefinedMetricSpecification()
			dp.Metric, dp.ResourceLabel, dp.Target, dp.DisableScaleIn = spec.GetPredefinedMetricType(), spec.GetResourceLabel(), tt.GetTargetValue(), tt.GetDisableScaleIn()
			dp.High, dp.Low = rec.GetHighDatapoints(), rec.GetLowDatapoints()
			dp.ScaleOutAfter, dp.ScaleInAfter = autoscaling.HighDatapoints, autoscaling.LowDatapoints
			dp.EvaluatedAt = rec.GetLastEvaluated()
			if rec.GetLastMetricOk() {
				v := rec.GetLastMetric()
				dp.Current = &v
			}
		}
		d.Policies = append(d.Policies, dp)
	}
	for i := len(acts) - 1; i >= 0 && len(d.Activities) < scalingActivitiesShown; i-- {
		a := acts[i].GetActivity()
		d.Activities = append(d.Activities, dashboard.ScalingActivity{At: a.GetStartTime(), Status: a.GetStatusCode(),
			Description: a.GetDescription(), Cause: a.GetCause(), Details: a.GetDetails()})
	}
	return d
}

// albLabel is the ResourceLabel of a target's first target tracking policy
// on ALBRequestCountPerTarget, "" when it has none.
func albLabel(pols []*berthv1.AutoscalingPolicyRecord) string {
	for _, rec := range pols {
		spec := rec.GetPolicy().GetTargetTrackingScalingPolicyConfiguration().GetPredefinedMetricSpecification()
		if rec.GetPolicy().GetPolicyType() == autoscaling.PolicyTargetTracking && spec.GetPredefinedMetricType() == autoscaling.MetricALBRequestCount {
			return spec.GetResourceLabel()
		}
	}
	return ""
}

// loadURL is where the load generator sends for a policy's ResourceLabel
// (app/LB/ID/targetgroup/TG/ID): a listener of that load balancer that
// forwards to that target group by default, or else its first listener,
// on loopback.
func (c *ControlPlane) loadURL(ctx context.Context, label string) (string, error) {
	p := strings.Split(label, "/")
	if len(p) != 6 {
		return "", apierr.New(apierr.FailedPrecondition, "", "the policy's ResourceLabel %q names no load balancer", label)
	}
	prefix := "arn:aws:elasticloadbalancing:" + c.arns.Region + ":" + c.arns.Account + ":"
	lbArn, tgArn := prefix+"loadbalancer/"+strings.Join(p[:3], "/"), prefix+strings.Join(p[3:], "/")
	res, err := c.elb.DescribeListeners(ctx, &berthv1.ELBDescribeListenersRequest{LoadBalancerArn: lbArn})
	if err != nil {
		return "", apierr.New(apierr.FailedPrecondition, "", "load balancer %s: %s", p[1], apierr.From(err).Message)
	}
	best, bound := "", ""
	for _, l := range res.GetListeners() {
		addr := c.lbProxy.Addr(l.GetListenerArn())
		if addr == "" {
			continue
		}
		if bound == "" {
			bound = addr
		}
		if best == "" && forwardsTo(l.GetDefaultActions(), tgArn) {
			best = addr
		}
	}
	if best == "" {
		best = bound
	}
	if best == "" {
		return "", apierr.New(apierr.FailedPrecondition, "", "load balancer %s has no listener serving", p[1])
	}
	return loopbackURL(best)
}

// forwardsTo says whether actions forward to the target group.
func forwardsTo(actions []*berthv1.ELBAction, tgArn string) bool {
	for _, a := range actions {
		if a.GetType() != "forward" {
			continue
		}
		if a.GetTargetGroupArn() == tgArn {
			return true
		}
		for _, t := range a.GetForwardConfig().GetTargetGroups() {
			if t.GetTargetGroupArn() == tgArn {
				return true
			}
		}
	}
	return false
}

// loopbackURL is the URL of a listener's address on loopback: an
// unspecified host (every interface) becomes 127.0.0.1 (::1); a host
// beyond loopback is refused, as the generator sends on loopback only.
func loopbackURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", apierr.New(apierr.FailedPrecondition, "", "listener address %q: %v", addr, err)
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "", apierr.New(apierr.FailedPrecondition, "", "listener address %q is not an IP address", addr)
	case ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip.IsUnspecified():
		host = "::1"
	case !ip.IsLoopback():
		return "", apierr.New(apierr.FailedPrecondition, "", "the listener serves at %s, beyond loopback: the load generator sends on loopback only", addr)
	}
	return "http://" + net.JoinHostPort(host, port) + "/", nil
}

// loadControl is the dashboard's control of the load generator.
type loadControl struct{ c *ControlPlane }

func (l loadControl) StartLoad(ctx context.Context, resourceID string, rate int, d time.Duration) (dashboard.LoadRun, error) {
	c := l.c
	targets, _, _ := c.autoscaling.Records()
	if _, ok, err := targets.Get(resourceID); err != nil {
		return dashboard.LoadRun{}, err
	} else if !ok {
		return dashboard.LoadRun{}, apierr.New(apierr.NotFound, "", "no scalable target %q", resourceID)
	}
	pols, err := c.policiesOf(resourceID)
	if err != nil {
		return dashboard.LoadRun{}, err
	}
	label := albLabel(pols)
	if label == "" {
		return dashboard.LoadRun{}, apierr.New(apierr.FailedPrecondition, "", "%s has no target tracking policy on %s: the load generator drives that metric", resourceID, autoscaling.MetricALBRequestCount)
	}
	url, err := c.loadURL(ctx, label)
	if err != nil {
		return dashboard.LoadRun{}, err
	}
	run, err := c.loadgen.Start(resourceID, url, rate, d)
	switch {
	case errors.Is(err, loadgen.ErrBusy):
		return dashboard.LoadRun{}, apierr.New(apierr.FailedPrecondition, "", "%s: %v", resourceID, err)
	case errors.Is(err, loadgen.ErrFull):
		return dashboard.LoadRun{}, apierr.New(apierr.ResourceExhausted, "", "%v", err)
	case errors.Is(err, loadgen.ErrClosed):
		return dashboard.LoadRun{}, apierr.New(apierr.FailedPrecondition, "", "the control plane is shutting down")
	case err != nil:
		return dashboard.LoadRun{}, apierr.New(apierr.InvalidArgument, "", "%v", err)
	}
	c.log.Info("dashboard: load generator started", "resource", resourceID, "url", url, "rate", rate, "duration", d)
	return *dashboard.LoadRunOf(run, time.Now()), nil
}

func (l loadControl) StopLoad(ctx context.Context, resourceID string) (dashboard.LoadRun, error) {
	run, ok := l.c.loadgen.Stop(resourceID)
	if !ok {
		return dashboard.LoadRun{}, apierr.New(apierr.NotFound, "", "no load generator ran for %q", resourceID)
	}
	l.c.log.Info("dashboard: load generator stopped", "resource", resourceID, "sent", run.Sent, "state", run.State)
	return *dashboard.LoadRunOf(run, time.Now()), nil
}
