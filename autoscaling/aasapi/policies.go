package aasapi

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/store"
)

// trackingConfig is a stored target tracking configuration, checked.
func trackingConfig(c *berthv1.TargetTrackingScalingPolicyConfiguration) autoscaling.TargetTracking {
	tt := autoscaling.TargetTracking{
		Metric:        c.GetPredefinedMetricSpecification().GetPredefinedMetricType(),
		ResourceLabel: c.GetPredefinedMetricSpecification().GetResourceLabel(),
		Target:        c.GetTargetValue(), DisableScaleIn: c.GetDisableScaleIn(),
		ScaleOutCooldown: autoscaling.DefaultCooldown, ScaleInCooldown: autoscaling.DefaultCooldown,
	}
	if c.ScaleOutCooldown != nil {
		tt.ScaleOutCooldown = *c.ScaleOutCooldown
	}
	if c.ScaleInCooldown != nil {
		tt.ScaleInCooldown = *c.ScaleInCooldown
	}
	return tt
}

func stepConfig(c *berthv1.StepScalingPolicyConfiguration) autoscaling.StepScaling {
	s := autoscaling.StepScaling{AdjustmentType: c.GetAdjustmentType(), MinMagnitude: c.GetMinAdjustmentMagnitude(), Cooldown: c.GetCooldown()}
	for _, st := range c.GetStepAdjustments() {
		s.Steps = append(s.Steps, autoscaling.Step{Lower: st.MetricIntervalLowerBound, Upper: st.MetricIntervalUpperBound, Adjustment: st.GetScalingAdjustment()})
	}
	return s
}

func (s *Server) alarm(name string) *berthv1.AutoscalingAlarm {
	return &berthv1.AutoscalingAlarm{AlarmName: name, AlarmArn: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.cfg.ARNs.Region, s.cfg.ARNs.Account, name)}
}

// PutScalingPolicy creates or replaces a target's policy.
func (s *Server) PutScalingPolicy(ctx context.Context, req *berthv1.PutScalingPolicyRequest) (*berthv1.PutScalingPolicyResponse, error) {
	if err := autoscaling.CheckPolicyName(req.GetPolicyName()); err != nil {
		return nil, err
	}
	if err := autoscaling.CheckDimension(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	id := req.GetResourceId()
	if _, _, err := autoscaling.ParseResourceID(id); err != nil {
		return nil, err
	}
	policyType := req.GetPolicyType()
	if policyType == "" {
		policyType = autoscaling.PolicyStepScaling // Application Auto Scaling's default
	}
	switch policyType {
	case autoscaling.PolicyTargetTracking:
		c := req.GetTargetTrackingScalingPolicyConfiguration()
		if c == nil {
			return nil, validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling")
		}
		if req.GetStepScalingPolicyConfiguration() != nil {
			return nil, validation("StepScalingPolicyConfiguration is not allowed for a policy of type TargetTrackingScaling")
		}
		if err := autoscaling.CheckTargetTracking("TargetTrackingScalingPolicyConfiguration", c.TargetValue,
			c.GetPredefinedMetricSpecification().GetPredefinedMetricType(), c.GetPredefinedMetricSpecification().GetResourceLabel(),
			false, c.ScaleOutCooldown, c.ScaleInCooldown); err != nil {
			return nil, err
		}
	case autoscaling.PolicyStepScaling:
		c := req.GetStepScalingPolicyConfiguration()
		if c == nil {
			return nil, validation("StepScalingPolicyConfiguration is required for a policy of type StepScaling")
		}
		if req.GetTargetTrackingScalingPolicyConfiguration() != nil {
			return nil, validation("TargetTrackingScalingPolicyConfiguration is not allowed for a policy of type StepScaling")
		}
		if err := autoscaling.CheckStepScaling("StepScalingPolicyConfiguration", stepConfig(c)); err != nil {
			return nil, err
		}
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [PredictiveScaling, StepScaling, TargetTrackingScaling] (berth serves StepScaling and TargetTrackingScaling)", policyType)
	}
	if _, ok, err := s.targets.Get(id); err != nil {
		return nil, err
	} else if !ok {
		return nil, targetMissing(id)
	}
	var out *berthv1.ScalingPolicy
	_, err := s.policies.Update(ctx, s.at(), policyKey(id, req.GetPolicyName()), func(old *berthv1.AutoscalingPolicyRecord, ok bool) (*berthv1.AutoscalingPolicyRecord, error) {
		p := &berthv1.ScalingPolicy{
			PolicyName: req.GetPolicyName(), ServiceNamespace: autoscaling.NamespaceECS, ResourceId: id,
			ScalableDimension: autoscaling.DimensionDesiredCount, PolicyType: policyType,
			StepScalingPolicyConfiguration:           req.GetStepScalingPolicyConfiguration(),
			TargetTrackingScalingPolicyConfiguration: req.GetTargetTrackingScalingPolicyConfiguration(),
			CreationTime:                             s.at(),
		}
		if ok {
			p.PolicyArn, p.CreationTime = old.GetPolicy().GetPolicyArn(), old.GetPolicy().GetCreationTime()
			if old.GetPolicy().GetPolicyType() == policyType {
				p.Alarms = old.GetPolicy().GetAlarms()
			}
		}
		if p.PolicyArn == "" {
			p.PolicyArn = fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/ecs/%s:policyName/%s", s.cfg.ARNs.Region, s.cfg.ARNs.Account, uuid(), id, req.GetPolicyName())
		}
		if policyType == autoscaling.PolicyTargetTracking && len(p.Alarms) == 0 {
			p.Alarms = []*berthv1.AutoscalingAlarm{
				s.alarm("TargetTracking-" + id + "-AlarmHigh-" + uuid()),
				s.alarm("TargetTracking-" + id + "-AlarmLow-" + uuid()),
			}
		}
		if tt := p.TargetTrackingScalingPolicyConfiguration; tt != nil {
			tt = proto.Clone(tt).(*berthv1.TargetTrackingScalingPolicyConfiguration)
			if tt.DisableScaleIn == nil {
				tt.DisableScaleIn = ptr(false)
			}
			p.TargetTrackingScalingPolicyConfiguration = tt
		}
		out = p
		return &berthv1.AutoscalingPolicyRecord{Policy: p}, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.PutScalingPolicyResponse{PolicyArn: out.GetPolicyArn(), Alarms: out.GetAlarms()}, nil
}

// DescribeScalingPolicies lists policies, by resource id and name.
func (s *Server) DescribeScalingPolicies(ctx context.Context, req *berthv1.DescribeScalingPoliciesRequest) (*berthv1.DescribeScalingPoliciesResponse, error) {
	if err := checkFilter(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	limit, err := pageSize(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range req.GetPolicyNames() {
		names[n] = true
	}
	prefix := ""
	if id := req.GetResourceId(); id != "" {
		prefix = id + ":"
	}
	resp := &berthv1.DescribeScalingPoliciesResponse{ScalingPolicies: []*berthv1.ScalingPolicy{}}
	var last string
	err = s.policies.List(prefix, req.GetNextToken(), func(r store.Stored[*berthv1.AutoscalingPolicyRecord]) bool {
		if len(names) > 0 && !names[r.Value.GetPolicy().GetPolicyName()] {
			return true
		}
		if len(resp.ScalingPolicies) == limit {
			resp.NextToken = last
			return false
		}
		resp.ScalingPolicies = append(resp.ScalingPolicies, r.Value.GetPolicy())
		last = r.Key
		return true
	})
	return resp, err
}

// DeleteScalingPolicy deletes a policy.
func (s *Server) DeleteScalingPolicy(ctx context.Context, req *berthv1.DeleteScalingPolicyRequest) (*berthv1.DeleteScalingPolicyResponse, error) {
	if err := autoscaling.CheckPolicyName(req.GetPolicyName()); err != nil {
		return nil, err
	}
	if err := autoscaling.CheckDimension(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	id := req.GetResourceId()
	if _, _, err := autoscaling.ParseResourceID(id); err != nil {
		return nil, err
	}
	key := policyKey(id, req.GetPolicyName())
	rec, ok, err := s.policies.Get(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("No scaling policy found for service namespace: ecs, resource ID: %s, scalable dimension: %s, policy name: %s", id, autoscaling.DimensionDesiredCount, req.GetPolicyName())
	}
	if err := s.policies.Delete(ctx, s.at(), key, rec.Generation); err != nil {
		return nil, err
	}
	return &berthv1.DeleteScalingPolicyResponse{}, nil
}

// DescribeScalingActivities lists a target's (or every target's)
// activities, newest first.
func (s *Server) DescribeScalingActivities(ctx context.Context, req *berthv1.DescribeScalingActivitiesRequest) (*berthv1.DescribeScalingActivitiesResponse, error) {
	if err := checkFilter(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	limit, err := pageSize(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	prefix := ""
	if id := req.GetResourceId(); id != "" {
		prefix = id + ":"
	}
	var all []store.Stored[*berthv1.AutoscalingActivityRecord]
	if err := s.activities.List(prefix, "", func(r store.Stored[*berthv1.AutoscalingActivityRecord]) bool {
		all = append(all, r)
		return true
	}); err != nil {
		return nil, err
	}
	// newest first: by start time across targets
	sortActivities(all)
	resp := &berthv1.DescribeScalingActivitiesResponse{ScalingActivities: []*berthv1.ScalingActivity{}}
	started := req.GetNextToken() == ""
	for _, r := range all {
		if !started {
			started = r.Value.GetActivity().GetActivityId() == req.GetNextToken()
			continue
		}
		if len(resp.ScalingActivities) == limit {
			resp.NextToken = resp.ScalingActivities[limit-1].GetActivityId()
			break
		}
		resp.ScalingActivities = append(resp.ScalingActivities, r.Value.GetActivity())
	}
	return resp, nil
}

func activityKey(resourceID string, start float64, id string) string {
	return fmt.Sprintf("%s:%020.3f:%s", resourceID, start, id)
}

func sortActivities(all []store.Stored[*berthv1.AutoscalingActivityRecord]) {
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && newer(all[j], all[j-1]); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
}

func newer(a, b store.Stored[*berthv1.AutoscalingActivityRecord]) bool {
	sa, sb := a.Value.GetActivity().GetStartTime(), b.Value.GetActivity().GetStartTime()
	if sa != sb {
		return sa > sb
	}
	return strings.Compare(a.Key, b.Key) > 0
}
