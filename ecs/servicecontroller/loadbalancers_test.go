package servicecontroller_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
)

// A service behind a target group: its RUNNING tasks' host ports are
// registered; a task whose target fails its health checks is replaced with
// ECS's event; a task whose target answers takes the listener's requests;
// scaling in drains the targets before the tasks stop.
func TestServiceBehindLoadBalancer(t *testing.T) {
	c, elb, tg, port := behindListener(t)
	ctx := c.Ctx
	if _, err := c.ECS.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(1),
		LoadBalancers: []*berthv1.LoadBalancer{{TargetGroupArn: tg, ContainerName: "app", ContainerPort: proto.Int32(80)}}}); err != nil {
		t.Fatal(err)
	}
	targets := func() []*berthv1.ELBTargetHealthDescription {
		out, err := elb.DescribeTargetHealth(ctx, &berthv1.ELBDescribeTargetHealthRequest{TargetGroupArn: tg})
		if err != nil {
			t.Fatal(err)
		}
		return out.TargetHealthDescriptions
	}
	// tasks are the service's tasks, wanted or not.
	tasks := func() []*berthv1.Task {
		var arns []string
		for _, desired := range []string{"RUNNING", "STOPPED"} {
			out, err := c.ECS.ListTasks(ctx, &berthv1.ListTasksRequest{ServiceName: "web", DesiredStatus: desired})
			if err != nil {
				t.Fatal(err)
			}
			arns = append(arns, out.TaskArns...)
		}
		if len(arns) == 0 {
			return nil
		}
		dt, err := c.ECS.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		if err != nil {
			t.Fatal(err)
		}
		return dt.Tasks
	}
	// onPort is the newest task with a container on the host port (a
	// replaced one may have had the port before it).
	onPort := func(port int32) *berthv1.Task {
		var last *berthv1.Task
		for _, task := range tasks() {
			if len(task.Containers) > 0 && len(task.Containers[0].NetworkBindings) > 0 && task.Containers[0].NetworkBindings[0].GetHostPort() == port &&
				(last == nil || task.CreatedAt > last.CreatedAt) {
				last = task
			}
		}
		return last
	}
	// Nothing listens on the hollow task's host port: its target fails its
	// health checks and the task is replaced.
	cptest.Eventually(t, "the task's target fails and the service says so", func() bool {
		res, err := c.ECS.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
		if err != nil || len(res.Services) != 1 {
			return false
		}
		for _, ev := range res.Services[0].Events {
			if ev.Message != "" && contains(ev.Message, "failed ELB health checks in (target-group "+tg+")") {
				return true
			}
		}
		return false
	})

	// Serve on the current task's host port: its target turns healthy and
	// the listener's requests reach it.
	var hostPort int32
	cptest.Eventually(t, "a running task with a registered target", func() bool {
		for _, d := range targets() {
			if d.TargetHealth.State == "initial" || d.TargetHealth.State == "healthy" || d.TargetHealth.State == "unhealthy" {
				if task := onPort(d.Target.GetPort()); task == nil || task.DesiredStatus != "RUNNING" {
					continue // a replaced task's target, not deregistered yet
				}
				hostPort = d.Target.GetPort()
				backend, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(int(hostPort)))
				if err != nil {
					return false
				}
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "task") })}
				go srv.Serve(backend)
				t.Cleanup(func() { srv.Close() })
				return true
			}
		}
		return false
	})
	web := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(web.CloseIdleConnections)
	cptest.Eventually(t, "a request through the listener reaches the task", func() bool {
		resp, err := web.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == "task"
	})

	// The task that serves is the one whose target is healthy (the one
	// served first may have failed its checks before it listened, and its
	// replacement taken the same host port).
	cptest.Eventually(t, "a healthy target of a running task", func() bool {
		for _, d := range targets() {
			if d.TargetHealth.State == "healthy" {
				if task := onPort(d.Target.GetPort()); task != nil && task.DesiredStatus == "RUNNING" {
					hostPort = d.Target.GetPort()
					return true
				}
			}
		}
		return false
	})
	// Scale in: the target drains through its delay, then the task stops.
	if _, err := c.ECS.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	// While it drains, the task is DEACTIVATING (desiredStatus STOPPED), as
	// ECS shows it, and no longer counts as running.
	sawDraining, sawDeactivating, uncounted := false, false, false
	var last *berthv1.Task
	cptest.Eventually(t, "targets drained and tasks stopped", func() bool {
		ts := targets()
		for _, d := range ts {
			sawDraining = sawDraining || d.TargetHealth.State == "draining"
		}
		if last = onPort(hostPort); last == nil {
			return false
		}
		if last.LastStatus == "DEACTIVATING" {
			sawDeactivating = true
			if last.DesiredStatus != "STOPPED" || last.StopCode != "ServiceSchedulerInitiated" {
				t.Errorf("a DEACTIVATING task: %v", last)
			}
			res, err := c.ECS.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
			uncounted = uncounted || err == nil && res.Services[0].GetRunningCount() == 0 // the service's next pass counts it out
		}
		res, err := c.ECS.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
		return err == nil && len(ts) == 0 && res.Services[0].GetRunningCount() == 0 && last.LastStatus == "STOPPED"
	})
	if !sawDraining {
		t.Error("the target did not drain before its task stopped")
	}
	if !sawDeactivating {
		t.Errorf("the task was never DEACTIVATING while its target drained (last: %v)", last)
	}
	if sawDeactivating && !uncounted {
		t.Error("the service counted its DEACTIVATING task as running all along")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// behindListener starts a control plane (health checks every 100 ms, 2 to
// change a target's state) with one hollow agent, a load balancer, a
// target group "web" for port 80 behind an HTTP listener on a loopback
// port (returned), and the task definition "web" (bridge, container "app"
// on port 80).
func behindListener(t *testing.T) (*cptest.Cluster, berthv1.ElasticLoadBalancingV2Client, string, int32) {
	t.Helper()
	c := cptest.Start(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond, HealthGrace: 300 * time.Millisecond,
		LBProxy: proxy.Options{Interval: func(s int32) time.Duration { return time.Duration(s) * 10 * time.Millisecond }},
	})
	c.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "t3.large"})
	c.WaitInstances(t, 1)
	elb := berthv1.NewElasticLoadBalancingV2Client(c.Dial(t))
	ctx := c.Ctx

	lb, err := elb.CreateLoadBalancer(ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	tgOut, err := elb.CreateTargetGroup(ctx, &berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP", Port: proto.Int32(80),
		HealthCheckIntervalSeconds: proto.Int32(10), HealthCheckTimeoutSeconds: proto.Int32(5), HealthyThresholdCount: proto.Int32(2), UnhealthyThresholdCount: proto.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tg := tgOut.TargetGroups[0].TargetGroupArn
	if _, err := elb.ModifyTargetGroupAttributes(ctx, &berthv1.ELBModifyTargetGroupAttributesRequest{TargetGroupArn: tg,
		Attributes: []*berthv1.ELBTargetGroupAttribute{{Key: "deregistration_delay.timeout_seconds", Value: "2"}}}); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if _, err := elb.CreateListener(ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: "HTTP", Port: &port,
		DefaultActions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tg}}}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.ECS.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "web", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(64),
			PortMappings: []*berthv1.PortMapping{{ContainerPort: 80}}}}}); err != nil {
		t.Fatal(err)
	}
	return c, elb, tg, port
}

// A target that can never pass its health checks: each task is stopped
// for it, each stop counts for the deployment circuit breaker as a task
// that failed to start does, and the deployment fails after 10 of them.
func TestELBHealthChecksThatNeverPassTripTheBreaker(t *testing.T) {
	c, _, tg, _ := behindListener(t)
	ctx := c.Ctx
	if _, err := c.ECS.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(1),
		LoadBalancers:           []*berthv1.LoadBalancer{{TargetGroupArn: tg, ContainerName: "app", ContainerPort: proto.Int32(80)}},
		DeploymentConfiguration: &berthv1.DeploymentConfiguration{DeploymentCircuitBreaker: &berthv1.DeploymentCircuitBreaker{Enable: true}}}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the deployment FAILED after 10 tasks failed their ELB health checks", func() bool {
		res, err := c.ECS.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
		if err != nil || len(res.Services) != 1 || len(res.Services[0].Deployments) == 0 {
			return false
		}
		d := res.Services[0].Deployments[0]
		return d.GetRolloutState() == "FAILED" && d.GetFailedTasks() >= 10
	})
	res, err := c.ECS.ListTasks(ctx, &berthv1.ListTasksRequest{ServiceName: "web", DesiredStatus: "STOPPED"})
	if err != nil || len(res.TaskArns) == 0 {
		t.Fatalf("stopped tasks: %v %v", res, err)
	}
	dt, err := c.ECS.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: res.TaskArns[:1]})
	if err != nil || len(dt.Tasks) != 1 || dt.Tasks[0].GetStoppedReason() != "Task failed ELB health checks in (target-group "+tg+")" {
		t.Fatalf("a stopped task: %v %v", dt, err)
	}
}
