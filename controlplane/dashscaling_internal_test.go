package controlplane

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TestScalableTargetView: a target as the scaling panel shows it: bounds,
// the service's counts, each policy's metric against its target (none
// before a datapoint), the alarms' datapoints, suspended scaling, and the
// latest activities newest first, at most scalingActivitiesShown.
func TestScalableTargetView(t *testing.T) {
	target := &berthv1.ScalableTarget{ResourceId: "service/default/web", ScalableDimension: "ecs:service:DesiredCount", MinCapacity: 1, MaxCapacity: 8,
		SuspendedState: &berthv1.AutoscalingSuspendedState{DynamicScalingInSuspended: proto.Bool(true), DynamicScalingOutSuspended: proto.Bool(false)}}
	tracking := func(metric, label string, target float64) *berthv1.TargetTrackingScalingPolicyConfiguration {
		return &berthv1.TargetTrackingScalingPolicyConfiguration{TargetValue: proto.Float64(target), DisableScaleIn: proto.Bool(false),
			PredefinedMetricSpecification: &berthv1.PredefinedMetricSpecification{PredefinedMetricType: metric, ResourceLabel: label}}
	}
	const label = "app/web/50dc6c495c0c9188/targetgroup/web-tg/73e2d6bc24d8a067"
	pols := []*berthv1.AutoscalingPolicyRecord{
		{Policy: &berthv1.ScalingPolicy{PolicyName: "cpu", PolicyType: "TargetTrackingScaling", ResourceId: target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: tracking("ECSServiceAverageCPUUtilization", "", 50)},
			HighDatapoints: 2, LastMetric: 71.5, LastMetricOk: true, LastEvaluated: 1700000000.5},
		{Policy: &berthv1.ScalingPolicy{PolicyName: "requests", PolicyType: "TargetTrackingScaling", ResourceId: target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: tracking("ALBRequestCountPerTarget", label, 600)},
			LowDatapoints: 4, LastEvaluated: 1700000000.5}, // no datapoint
		{Policy: &berthv1.ScalingPolicy{PolicyName: "steps", PolicyType: "StepScaling", ResourceId: target.ResourceId}},
	}
	var acts []*berthv1.AutoscalingActivityRecord
	for i := range 7 {
		acts = append(acts, &berthv1.AutoscalingActivityRecord{Activity: &berthv1.ScalingActivity{StartTime: float64(1700000000 + i), StatusCode: "Successful",
			Description: "Setting desired count to " + string(rune('1'+i)) + ".", Cause: "monitor alarm ...", Details: "desired count"}})
	}
	svc := &berthv1.Service{Status: "ACTIVE", DesiredCount: proto.Int32(3), RunningCount: proto.Int32(2)}
	d := scalableTarget(target, svc, pols, acts)
	if d.ResourceID != "service/default/web" || d.Min != 1 || d.Max != 8 || d.Desired != 3 || d.Running != 2 || d.Description != "scale-in suspended" {
		t.Errorf("target %+v", d)
	}
	if len(d.Policies) != 3 {
		t.Fatalf("policies %+v", d.Policies)
	}
	cpu, req, steps := d.Policies[0], d.Policies[1], d.Policies[2]
	if cpu.Metric != "ECSServiceAverageCPUUtilization" || cpu.Target != 50 || cpu.Current == nil || *cpu.Current != 71.5 || cpu.High != 2 ||
		cpu.ScaleOutAfter != 3 || cpu.ScaleInAfter != 15 || cpu.EvaluatedAt != 1700000000.5 {
		t.Errorf("cpu policy %+v", cpu)
	}
	if req.Metric != "ALBRequestCountPerTarget" || req.ResourceLabel != label || req.Current != nil || req.Low != 4 || req.Target != 600 {
		t.Errorf("requests policy %+v", req)
	}
	if steps.Type != "StepScaling" || steps.Metric != "" || steps.Current != nil {
		t.Errorf("step policy %+v", steps)
	}
	if len(d.Activities) != scalingActivitiesShown || d.Activities[0].At != 1700000006 || d.Activities[4].At != 1700000002 || d.Activities[0].Details != "desired count" {
		t.Errorf("activities %+v", d.Activities)
	}
	if got := albLabel(pols); got != label {
		t.Errorf("albLabel %q", got)
	}
	if got := albLabel(pols[:1]); got != "" {
		t.Errorf("albLabel without an ALB policy: %q", got)
	}

	gone := scalableTarget(target, nil, nil, nil)
	if gone.Desired != 0 || !strings.Contains(gone.Description, "the service is gone") || gone.Policies == nil || gone.Activities == nil {
		t.Errorf("a target whose service is gone %+v", gone)
	}
	draining := scalableTarget(&berthv1.ScalableTarget{ResourceId: "service/default/web"}, &berthv1.Service{Status: "DRAINING", DesiredCount: proto.Int32(2)}, nil, nil)
	if draining.Desired != 2 || draining.Description != "the service is DRAINING" {
		t.Errorf("a draining service's target %+v", draining)
	}
}

// TestLoopbackURL: the generator sends on loopback only.
func TestLoopbackURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/",
		"[::]:8080":      "http://[::1]:8080/",
		"[::1]:8080":     "http://[::1]:8080/",
		"10.0.0.5:8080":  "",
		"example:80":     "",
		"nonsense":       "",
	} {
		got, err := loopbackURL(addr)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q %v, want %q", addr, got, err, want)
		}
	}
}
