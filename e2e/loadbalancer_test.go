package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestServiceBehindListener: a service of 3 web tasks (bridge network mode,
// dynamic host ports) behind a target group and a listener: the 3 targets
// turn healthy, 1,000 requests through the listener are all answered 200
// (round robin over the 3; the proxy's tests show the spread), and a task
// killed in Docker leaves the target group and is replaced.
func TestServiceBehindListener(t *testing.T) {
	t.Parallel()
	s := newStack(t, controlplane.Config{ServiceResync: 200 * time.Millisecond, HealthGrace: time.Second,
		LBProxy: proxy.Options{Interval: func(sec int32) time.Duration { return time.Duration(sec) * 50 * time.Millisecond }}})
	for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		s.startDockerAgent(t, agent.Config{DataDir: t.TempDir(), AvailabilityZone: zone})
	}
	s.connectedInstances(t, 3)
	elb := berthv1.NewElasticLoadBalancingV2Client(s.Dial(t))
	ctx := s.Ctx

	lb, err := elb.CreateLoadBalancer(ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	tgOut, err := elb.CreateTargetGroup(ctx, &berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP", Port: new(int32(8080)),
		HealthCheckIntervalSeconds: new(int32(10)), HealthCheckTimeoutSeconds: new(int32(5)), HealthyThresholdCount: new(int32(2)), UnhealthyThresholdCount: new(int32(2))})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgOut.TargetGroups[0].TargetGroupArn
	if _, err := elb.ModifyTargetGroupAttributes(ctx, &berthv1.ELBModifyTargetGroupAttributesRequest{TargetGroupArn: tg,
		Attributes: []*berthv1.ELBTargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := elb.CreateListener(ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: "HTTP",
		Port: new(int32(port)), DefaultActions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tg}}}); err != nil {
		t.Fatal(err)
	}
	s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "web", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: testimage.Image(t), Memory: new(int32(32)),
			Command: []string{"serve", ":8080"}, PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080}}, DockerLabels: dockertest.Labels(nil)}}})
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: new(int32(3)),
		LoadBalancers: []*berthv1.LoadBalancer{{TargetGroupArn: tg, ContainerName: "app", ContainerPort: new(int32(8080))}}})

	healthy := func() (int, []*berthv1.ELBTargetHealthDescription) {
		out, err := elb.DescribeTargetHealth(ctx, &berthv1.ELBDescribeTargetHealthRequest{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth.State == "healthy" {
				n++
			}
		}
		return n, out.TargetHealthDescriptions
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(serviceWithin); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				_, ds := healthy()
				t.Fatalf("%s: not within %s; targets %v", what, serviceWithin, ds)
			}
		}
	}
	wait("3 healthy targets", func() bool { n, ds := healthy(); return n == 3 && len(ds) == 3 })

	web := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(web.CloseIdleConnections)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	failed := 0
	for range 1000 {
		resp, err := web.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of 1,000 requests through the listener failed", failed)
	}

	// Kill one task's container: its target leaves the group, the service
	// replaces the task, and its replacement's target turns healthy.
	victim := s.serviceTasks(t, "web")[0]
	if err := s.docker.ContainerKill(context.Background(), containerOf(t, victim, "app").GetRuntimeId(), "SIGKILL"); err != nil {
		t.Fatalf("docker kill: %v", err)
	}
	var victimPort int32
	for _, nb := range containerOf(t, victim, "app").GetNetworkBindings() {
		victimPort = nb.GetHostPort()
	}
	wait("the killed task's target gone and 3 healthy targets again", func() bool {
		n, ds := healthy()
		for _, d := range ds {
			if d.Target.GetPort() == victimPort && d.TargetHealth.State != "draining" {
				return false
			}
		}
		return n == 3
	})
	cptest.Eventually(t, "requests answered after the replacement", func() bool {
		resp, err := web.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
