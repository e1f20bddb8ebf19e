package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestALBRequestCountScalesService: a service of one web task behind a
// listener, with a target tracking policy on ALBRequestCountPerTarget
// (ResourceLabel as AWS writes it, app/<lb>/<id>/targetgroup/<tg>/<id>),
// min 1 and max 3. A fixed load of 20 requests a second through the
// listener (1,200 a minute on one target, four times the target of 300)
// scales the service out to 3 tasks, whose targets turn healthy with no
// request lost; once the load stops, the low alarm's datapoints scale it
// back in to 1, and both activities are recorded.
func TestALBRequestCountScalesService(t *testing.T) {
	t.Parallel()
	const period = 500 * time.Millisecond // the evaluation period: 3 datapoints out, 15 in
	s := newStack(t, controlplane.Config{ServiceResync: 200 * time.Millisecond, HealthGrace: time.Second, AutoscalingPeriod: period,
		LBProxy: proxy.Options{Interval: func(sec int32) time.Duration { return time.Duration(sec) * 50 * time.Millisecond }}})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	conn := s.Dial(t)
	elb, aas := berthv1.NewElasticLoadBalancingV2Client(conn), berthv1.NewApplicationAutoScalingClient(conn)
	ctx := s.Ctx

	lbArn, tg, port := s.listener(t, elb, "scaled", "")
	s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "scaled", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: testimage.Image(t), Memory: new(int32(32)),
			Command: []string{"serve", ":8080"}, PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080}}, DockerLabels: dockertest.Labels(nil)}}})
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "scaled", TaskDefinition: "scaled", DesiredCount: new(int32(1)),
		LoadBalancers: []*berthv1.LoadBalancer{{TargetGroupArn: tg, ContainerName: "app", ContainerPort: new(int32(8080))}}})

	// healthyTargets counts the group's healthy targets.
	healthyTargets := func() int {
		out, err := elb.DescribeTargetHealth(ctx, &berthv1.ELBDescribeTargetHealthRequest{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.GetState() == "healthy" {
				n++
			}
		}
		return n
	}
	pollWithin(t, serviceWithin, "1 healthy target", healthyTargets, func(n int) bool { return n == 1 })
	s.steady(t, "scaled", 1)

	// The ResourceLabel: the load balancer's ARN after "loadbalancer/", then
	// the target group's from "targetgroup/".
	label := lbArn[strings.Index(lbArn, ":loadbalancer/")+len(":loadbalancer/"):] + "/" + tg[strings.Index(tg, ":targetgroup/")+1:]
	const resource = "service/default/scaled"
	if _, err := aas.RegisterScalableTarget(ctx, &berthv1.RegisterScalableTargetRequest{ServiceNamespace: autoscaling.NamespaceECS, ResourceId: resource,
		ScalableDimension: autoscaling.DimensionDesiredCount, MinCapacity: new(int32(1)), MaxCapacity: new(int32(3))}); err != nil {
		t.Fatal(err)
	}
	if _, err := aas.PutScalingPolicy(ctx, &berthv1.PutScalingPolicyRequest{PolicyName: "requests", ServiceNamespace: autoscaling.NamespaceECS,
		ResourceId: resource, ScalableDimension: autoscaling.DimensionDesiredCount, PolicyType: autoscaling.PolicyTargetTracking,
		TargetTrackingScalingPolicyConfiguration: &berthv1.TargetTrackingScalingPolicyConfiguration{TargetValue: new(300.0),
			PredefinedMetricSpecification: &berthv1.PredefinedMetricSpecification{PredefinedMetricType: autoscaling.MetricALBRequestCount, ResourceLabel: label},
			ScaleOutCooldown:              new(int32(1)), ScaleInCooldown: new(int32(1))}}); err != nil {
		t.Fatalf("PutScalingPolicy with ResourceLabel %s: %v", label, err)
	}

	// The load: one request every 50 ms (20 a second) until stopped, and
	// never beyond serviceWithin.
	web := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(web.CloseIdleConnections)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	start := time.Now()
	load := startLoad(t, web, url, 50*time.Millisecond, serviceWithin)

	s.waitService(t, "scaled", "desired count 3 under the load", func(svc serviceState) bool { return svc.GetDesiredCount() == 3 })
	scaledOut := time.Since(start)
	pollWithin(t, serviceWithin, "3 healthy targets", healthyTargets, func(n int) bool { return n == 3 })
	s.waitService(t, "scaled", "3 tasks running", func(svc serviceState) bool {
		return svc.GetRunningCount() == 3 && svc.GetPendingCount() == 0 && svc.running == 3
	})
	serving := time.Since(start)
	load.Stop()
	if load.sent.Load() == 0 || load.lost.Load() > 0 {
		t.Errorf("during the scale-out %d of %d requests failed (last: %v)", load.lost.Load(), load.sent.Load(), load.lastErr.Load())
	}

	stopped := time.Now()
	s.waitService(t, "scaled", "desired count 1 once the load stopped", func(svc serviceState) bool { return svc.GetDesiredCount() == 1 })
	scaledIn := time.Since(stopped)
	s.steady(t, "scaled", 1)
	pollWithin(t, serviceWithin, "1 healthy target", healthyTargets, func(n int) bool { return n == 1 })

	acts, err := aas.DescribeScalingActivities(ctx, &berthv1.DescribeScalingActivitiesRequest{ServiceNamespace: autoscaling.NamespaceECS, ResourceId: resource})
	if err != nil {
		t.Fatal(err)
	}
	as := acts.GetScalingActivities()
	if len(as) < 2 || !strings.Contains(as[0].GetCause(), "AlarmLow") || !strings.Contains(as[len(as)-1].GetCause(), "AlarmHigh") ||
		as[0].GetStatusCode() != autoscaling.StatusSuccessful || as[len(as)-1].GetStatusCode() != autoscaling.StatusSuccessful {
		for _, a := range as {
			t.Logf("%s %s: %s", a.GetStatusCode(), a.GetDetails(), a.GetCause())
		}
		t.Fatal("want the newest activity a successful scale-in, the oldest a successful scale-out")
	}
	t.Logf("%d requests at 20/s: desired 3 after %s, 3 healthy and running after %s; desired 1 %s after the load stopped",
		load.sent.Load(), scaledOut.Round(time.Millisecond), serving.Round(time.Millisecond), scaledIn.Round(time.Millisecond))
}
