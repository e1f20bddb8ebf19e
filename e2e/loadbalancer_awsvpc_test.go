package e2e

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestAWSVPCServiceBehindIPTargetGroup: a service of 2 awsvpc tasks on one
// instance behind a target group of target type ip. Each task's pause
// container publishes the container port on 127.0.0.1 with a host port of
// its own (the definition's hostPort, 8080 in awsvpc mode, would collide
// between the two); the tasks report it as their networkBindings, the
// service registers 127.0.0.1:<published> as an ip target, and requests
// through the listener reach both tasks. A task killed in Docker leaves the
// target group and its replacement's target turns healthy.
func TestAWSVPCServiceBehindIPTargetGroup(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{ServiceResync: 200 * time.Millisecond, HealthGrace: time.Second,
		LBProxy: proxy.Options{Interval: func(sec int32) time.Duration { return time.Duration(sec) * 50 * time.Millisecond }}})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir(), Engine: engine.Options{PauseImage: img, PauseCommand: []string{"sleep"}}})
	s.connected(t)
	elb := berthv1.NewElasticLoadBalancingV2Client(s.Dial(t))
	ctx := s.Ctx

	_, tg, port := s.listener(t, elb, "vpcweb", "ip")
	s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "vpcweb", NetworkMode: "awsvpc",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: img, Memory: new(int32(32)),
			Command: []string{"serve", ":8080"}, PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080}}, DockerLabels: dockertest.Labels(nil)}}})
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "vpcweb", TaskDefinition: "vpcweb", DesiredCount: new(int32(2)),
		LoadBalancers: []*berthv1.LoadBalancer{{TargetGroupArn: tg, ContainerName: "app", ContainerPort: new(int32(8080))}}})

	targets := func() []*berthv1.ELBTargetHealthDescription {
		out, err := elb.DescribeTargetHealth(ctx, &berthv1.ELBDescribeTargetHealthRequest{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		return out.TargetHealthDescriptions
	}
	healthy := func(ds []*berthv1.ELBTargetHealthDescription) map[int32]bool {
		out := map[int32]bool{}
		for _, d := range ds {
			if d.TargetHealth.GetState() == "healthy" {
				out[d.Target.GetPort()] = true
			}
		}
		return out
	}
	// published are the host ports the service's tasks report for app's 8080.
	published := func() map[int32]bool {
		out := map[int32]bool{}
		for _, task := range s.serviceTasks(t, "vpcweb") {
			for _, nb := range containerOf(t, task, "app").GetNetworkBindings() {
				if nb.GetContainerPort() == 8080 && nb.GetBindIp() == "127.0.0.1" && nb.GetHostPort() != 0 {
					out[nb.GetHostPort()] = true
				}
			}
		}
		return out
	}
	sameKeys := func(a, b map[int32]bool) bool {
		if len(a) != len(b) {
			return false
		}
		for k := range a {
			if !b[k] {
				return false
			}
		}
		return true
	}
	pollWithin(t, serviceWithin, "2 healthy ip targets at the tasks' published ports", targets, func(ds []*berthv1.ELBTargetHealthDescription) bool {
		h := healthy(ds)
		return len(ds) == 2 && len(h) == 2 && sameKeys(h, published())
	})
	for _, d := range targets() {
		if d.Target.GetId() != "127.0.0.1" {
			t.Errorf("target %s:%d, want the ip target 127.0.0.1 (where the task's port is published)", d.Target.GetId(), d.Target.GetPort())
		}
	}
	// (not s.steady: it counts the tasks' containers in Docker, pause containers too)
	s.waitService(t, "vpcweb", "service vpcweb running 2", func(svc serviceState) bool {
		return svc.GetRunningCount() == 2 && onlyDeployment(svc.Service, svc.GetTaskDefinition())
	})

	web := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(web.CloseIdleConnections)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	byTask := map[string]int{}
	failed := 0
	for range 200 {
		resp, err := web.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed++
		}
		byTask[resp.Header.Get("X-Testapp-Host")]++
	}
	if failed > 0 {
		t.Errorf("%d of 200 requests through the listener failed", failed)
	}
	if len(byTask) != 2 {
		t.Errorf("requests reached %d tasks, want 2: %v", len(byTask), byTask)
	}

	// Kill one task's app: its target leaves the group, the service replaces
	// the task, and the replacement's published port becomes a healthy target.
	victim := s.serviceTasks(t, "vpcweb")[0]
	var victimPort int32
	for _, nb := range containerOf(t, victim, "app").GetNetworkBindings() {
		victimPort = nb.GetHostPort()
	}
	if err := s.docker.ContainerKill(context.Background(), containerOf(t, victim, "app").GetRuntimeId(), "SIGKILL"); err != nil {
		t.Fatalf("docker kill: %v", err)
	}
	pollWithin(t, serviceWithin, "the killed task's target gone and 2 healthy targets again", targets, func(ds []*berthv1.ELBTargetHealthDescription) bool {
		h := healthy(ds)
		return !h[victimPort] && len(h) == 2 && sameKeys(h, published())
	})
	cptest.Eventually(t, "requests answered after the replacement", func() bool {
		resp, err := web.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
