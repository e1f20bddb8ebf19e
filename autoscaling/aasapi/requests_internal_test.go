package aasapi

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/store"
)

const (
	albResource = "service/default/web"
	albLabel    = "app/web/50dc6c495c0c9188/targetgroup/web/943f017f100becff"
	albGroup    = "targetgroup/web/943f017f100becff"
)

// albServer is a server over a fresh store holding service web at count
// tasks (none placed: there is no instance), its clock at *now, reading
// the target group's counter from *requests with healthy targets.
func albServer(t *testing.T, count int32, now *time.Time, requests *float64, healthy int) (*Server, *ecsapi.Server) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ecs := ecsapi.New(st, arn.Default, nil)
	ctx := context.Background()
	if err := ecs.EnsureDefaultCluster(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "web",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "web", Image: "web", Memory: proto.Int32(64)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(count)}); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st, ARNs: arn.Default, ECS: ecs, EvaluationPeriod: time.Minute, Now: func() time.Time { return *now },
		Requests: func(tg string) (float64, int, bool) {
			if tg != albGroup {
				return 0, 0, false
			}
			return *requests, healthy, true
		}})
	if _, err := s.RegisterScalableTarget(ctx, &berthv1.RegisterScalableTargetRequest{ServiceNamespace: autoscaling.NamespaceECS, ResourceId: albResource,
		ScalableDimension: autoscaling.DimensionDesiredCount, MinCapacity: proto.Int32(1), MaxCapacity: proto.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	return s, ecs
}

func putALBPolicy(t *testing.T, s *Server, name string, target float64) {
	t.Helper()
	if _, err := s.PutScalingPolicy(context.Background(), &berthv1.PutScalingPolicyRequest{PolicyName: name, ServiceNamespace: autoscaling.NamespaceECS,
		ResourceId: albResource, ScalableDimension: autoscaling.DimensionDesiredCount, PolicyType: autoscaling.PolicyTargetTracking,
		TargetTrackingScalingPolicyConfiguration: &berthv1.TargetTrackingScalingPolicyConfiguration{TargetValue: proto.Float64(target),
			PredefinedMetricSpecification: &berthv1.PredefinedMetricSpecification{PredefinedMetricType: autoscaling.MetricALBRequestCount, ResourceLabel: albLabel},
			ScaleOutCooldown:              proto.Int32(0), ScaleInCooldown: proto.Int32(0)}}); err != nil {
		t.Fatal(err)
	}
}

func policyRecord(t *testing.T, s *Server, name string) *berthv1.AutoscalingPolicyRecord {
	t.Helper()
	r, ok, err := s.policies.Get(policyKey(albResource, name))
	if err != nil || !ok {
		t.Fatalf("policy %s: %v %v", name, ok, err)
	}
	return r.Value
}

func desiredOf(t *testing.T, ecs *ecsapi.Server) int32 {
	t.Helper()
	d, err := ecs.DescribeServices(context.Background(), &berthv1.DescribeServicesRequest{Services: []string{"web"}})
	if err != nil || len(d.GetServices()) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	return d.GetServices()[0].GetDesiredCount()
}

// ALBRequestCountPerTarget is the requests since the last evaluation over
// the time that actually passed, per minute and healthy target: an
// evaluation that comes two periods after the last (a tick the loop
// missed) does not see twice the rate.
func TestALBRequestCountOverTheTimeThatPassed(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var requests float64
	s, ecs := albServer(t, 2, &now, &requests, 2)
	putALBPolicy(t, s, "alb", 100)
	ctx := context.Background()
	s.Evaluate(ctx) // the first read: no datapoint yet
	if r := policyRecord(t, s, "alb"); r.GetHighDatapoints() != 0 || r.GetLowDatapoints() != 0 {
		t.Fatalf("a datapoint from the first read of the counter: %+v", r)
	}
	// 300 requests every 2 minutes to 2 healthy targets: 75 a minute each,
	// under the target of 100.
	for i := range 4 {
		now = now.Add(2 * time.Minute)
		requests += 300
		s.Evaluate(ctx)
		if r := policyRecord(t, s, "alb"); r.GetLastMetric() != 75 || r.GetHighDatapoints() != 0 {
			t.Fatalf("evaluation %d: metric %v, high datapoints %d; want 75 and 0", i, r.GetLastMetric(), r.GetHighDatapoints())
		}
	}
	if d := desiredOf(t, ecs); d != 2 {
		t.Fatalf("desired count %d at 75 requests a minute per target (target 100), want 2", d)
	}
	// 600 every 2 minutes: 150 a minute each; after 3 datapoints above the
	// target, ceil(2 x 150 / 100) = 3.
	for range autoscaling.HighDatapoints {
		now = now.Add(2 * time.Minute)
		requests += 600
		s.Evaluate(ctx)
	}
	if d := desiredOf(t, ecs); d != 3 {
		t.Fatalf("desired count %d at 150 requests a minute per target (target 100), want 3", d)
	}
	// A counter that starts over (the control plane's proxy restarted) gives
	// no datapoint, then rates from its new value.
	requests = 10
	now = now.Add(time.Minute)
	s.Evaluate(ctx)
	if r := policyRecord(t, s, "alb"); r.GetLowDatapoints() != 0 || r.GetHighDatapoints() != 0 {
		t.Fatalf("a datapoint from a counter that started over: %+v", r)
	}
	requests += 60
	now = now.Add(30 * time.Second)
	s.Evaluate(ctx)
	if r := policyRecord(t, s, "alb"); r.GetLastMetric() != 60 {
		t.Fatalf("metric %v after 60 requests in 30 s to 2 targets, want 60", r.GetLastMetric())
	}
}

// Two policies on the same target group see the same datapoint of an
// evaluation: the second is not given a rate of 0 because the first read
// the counter just before it.
func TestALBRequestCountOneDatapointPerEvaluation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	requests := 1000.0
	s, _ := albServer(t, 1, &now, &requests, 1)
	putALBPolicy(t, s, "a", 100)
	putALBPolicy(t, s, "b", 100)
	ctx := context.Background()
	s.Evaluate(ctx)
	for _, name := range []string{"a", "b"} {
		if r := policyRecord(t, s, name); r.GetLowDatapoints() != 0 || r.GetHighDatapoints() != 0 {
			t.Fatalf("policy %s: a datapoint at the counter's first read: %+v", name, r)
		}
	}
	now = now.Add(time.Minute)
	requests += 50
	s.Evaluate(ctx)
	for _, name := range []string{"a", "b"} {
		if r := policyRecord(t, s, name); r.GetLastMetric() != 50 || r.GetLowDatapoints() != 1 {
			t.Fatalf("policy %s: metric %v, low datapoints %d; want 50 and 1", name, r.GetLastMetric(), r.GetLowDatapoints())
		}
	}
}
