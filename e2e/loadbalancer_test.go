package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
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

	_, tg, port := s.listener(t, elb, "web", "")
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
	byTask := map[string]int{}
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
		byTask[resp.Header.Get("X-Testapp-Host")]++
	}
	if failed > 0 {
		t.Errorf("%d of 1,000 requests through the listener failed", failed)
	}
	// Round robin over 3 healthy targets: each within 20% of a third.
	if len(byTask) != 3 {
		t.Errorf("requests reached %d tasks, want 3: %v", len(byTask), byTask)
	}
	for host, n := range byTask {
		if n < 1000/3*8/10 || n > 1000/3*12/10 {
			t.Errorf("task %s took %d of 1,000 requests, not within 20%% of a third: %v", host, n, byTask)
		}
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
		tasks := s.serviceTasks(t, "web")
		ports := map[int32]bool{} // the live tasks' host ports: Docker may give the killed task's port to its replacement
		for _, task := range tasks {
			if task.GetTaskArn() == victim.GetTaskArn() {
				return false
			}
			for _, nb := range containerOf(t, task, "app").GetNetworkBindings() {
				ports[nb.GetHostPort()] = true
			}
		}
		n, ds := healthy()
		for _, d := range ds {
			if d.Target.GetPort() == victimPort && d.TargetHealth.State != "draining" && !ports[victimPort] {
				return false
			}
		}
		return n == 3 && len(tasks) == 3
	})
	cptest.Eventually(t, "requests answered after the replacement", func() bool {
		resp, err := web.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	s.steady(t, "web", 3)

	// A rolling deployment behind the listener loses no request: new tasks
	// take requests once their targets are healthy, old ones drain through
	// the deregistration delay (DEACTIVATING) before they are stopped.
	load := startLoad(t, web, url, 5*time.Millisecond, 0) // about 200 requests a second at most: the machine is shared
	revision2 := s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "web", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: testimage.Image(t), Memory: new(int32(32)),
			Command: []string{"serve", ":8080"}, PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080}}, DockerLabels: dockertest.Labels(nil),
			Environment: []*berthv1.KeyValuePair{{Name: "REVISION", Value: "2"}}}}})
	old := taskARNs(s.serviceTasks(t, "web"))
	s.updateService(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: revision2})
	sawDeactivating := false
	pollWithin(t, serviceWithin, "rolled out to "+revision2+" with the old tasks stopped", func() bool {
		resp, err := s.ECS.DescribeTasks(s.Ctx, &berthv1.DescribeTasksRequest{Tasks: old})
		if err != nil {
			t.Fatal(err)
		}
		stopped := 0
		for _, task := range resp.GetTasks() {
			sawDeactivating = sawDeactivating || task.GetLastStatus() == "DEACTIVATING"
			if task.GetLastStatus() == "STOPPED" {
				stopped++
			}
		}
		return stopped == len(old) && onlyDeployment(s.describeService(t, "web").Service, revision2)
	}, func(ok bool) bool { return ok })
	load.Stop()
	if load.sent.Load() < 10 || load.lost.Load() > 0 {
		t.Errorf("during the rolling deployment %d of %d requests failed (last: %v)", load.lost.Load(), load.sent.Load(), load.lastErr.Load())
	}
	if !sawDeactivating {
		t.Error("no old task was seen DEACTIVATING while its target drained")
	}
	t.Logf("rolling deployment: %d requests, %d failed", load.sent.Load(), load.lost.Load())
}

// listener makes a load balancer NAME, a target group NAME (targetType
// "" for instance) on port 8080 health checked every 10 s (2 to be
// healthy or unhealthy, a deregistration delay of 1 s) and an HTTP
// listener on a free loopback port forwarding to it: the load balancer's
// and target group's ARNs and the listener's port.
func (s *stack) listener(t *testing.T, elb berthv1.ElasticLoadBalancingV2Client, name, targetType string) (lbArn, tg string, port int) {
	t.Helper()
	ctx := s.Ctx
	lb, err := elb.CreateLoadBalancer(ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	lbArn = lb.LoadBalancers[0].LoadBalancerArn
	tgOut, err := elb.CreateTargetGroup(ctx, &berthv1.ELBCreateTargetGroupRequest{Name: name, Protocol: "HTTP", Port: new(int32(8080)), TargetType: targetType,
		HealthCheckIntervalSeconds: new(int32(10)), HealthCheckTimeoutSeconds: new(int32(5)), HealthyThresholdCount: new(int32(2)), UnhealthyThresholdCount: new(int32(2))})
	if err != nil {
		t.Fatal(err)
	}
	tg = tgOut.TargetGroups[0].TargetGroupArn
	if _, err := elb.ModifyTargetGroupAttributes(ctx, &berthv1.ELBModifyTargetGroupAttributesRequest{TargetGroupArn: tg,
		Attributes: []*berthv1.ELBTargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := elb.CreateListener(ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lbArn, Protocol: "HTTP",
		Port: new(int32(port)), DefaultActions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tg}}}); err != nil {
		t.Fatal(err)
	}
	return lbArn, tg, port
}

// steadyLoad sends GET url through web once every pace until stopped (and
// never for longer than bound, when bound > 0), counting requests sent
// and those lost (no answer, or not 200).
type steadyLoad struct {
	sent, lost atomic.Int64
	lastErr    atomic.Value
	stop       func()
}

// startLoad starts a steadyLoad; Stop (also at cleanup) waits for it.
func startLoad(t *testing.T, web *http.Client, url string, pace, bound time.Duration) *steadyLoad {
	l := &steadyLoad{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pace)
		defer tick.Stop()
		var end <-chan time.Time
		if bound > 0 {
			timer := time.NewTimer(bound)
			defer timer.Stop()
			end = timer.C
		}
		for {
			select {
			case <-stop:
				return
			case <-end:
				return
			case <-tick.C:
			}
			resp, err := web.Get(url)
			l.sent.Add(1)
			if err != nil {
				l.lost.Add(1)
				l.lastErr.Store(err.Error())
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				l.lost.Add(1)
				l.lastErr.Store(resp.Status)
			}
		}
	}()
	l.stop = sync.OnceFunc(func() { close(stop); <-done })
	t.Cleanup(l.stop)
	return l
}

// Stop ends the load and waits for its last request.
func (l *steadyLoad) Stop() { l.stop() }
