package fargate_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/inprocess"
	"github.com/berth/berth/internal/testimage"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testimage.Cleanup(); err != nil { // the Docker isolation test's images
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// poolEnv is a control plane with an in-process hollow Fargate pool of
// small hosts (1 vCPU, 2 GiB: four 256/512 tasks each) and a short cooldown.
type poolEnv struct {
	*cptest.Cluster
	prov *inprocess.Pool
}

func newPoolEnv(t *testing.T, cooldown time.Duration) *poolEnv {
	return newPoolEnvDelay(t, cooldown, 0)
}

// newPoolEnvDelay is newPoolEnv with a provisioning delay (a cold start).
func newPoolEnvDelay(t *testing.T, cooldown, delay time.Duration) *poolEnv {
	t.Helper()
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return hollow.New(hollow.Config{}), nil },
		DataDir: t.TempDir(),
		Engine:  engine.Options{PauseImage: "pause"},
		Delay:   delay,
	}
	c := cptest.Start(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond, HealthGrace: 300 * time.Millisecond,
		Fargate: fargate.Config{Provisioner: prov, HostCPU: 1024, HostMemory: 2048, Cooldown: cooldown, Resync: 100 * time.Millisecond},
	})
	return &poolEnv{Cluster: c, prov: prov}
}

func (e *poolEnv) registerFargate(t *testing.T, family, cpu, memory string) {
	t.Helper()
	_, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: family, RequiresCompatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc", Cpu: cpu, Memory: memory,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app"}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *poolEnv) service(t *testing.T, name string) *berthv1.Service {
	t.Helper()
	res, err := e.ECS.DescribeServices(e.Ctx, &berthv1.DescribeServicesRequest{Services: []string{name}})
	if err != nil || len(res.Services) != 1 {
		t.Fatalf("describe %s: %v, %v", name, res, err)
	}
	return res.Services[0]
}

// A service of 20 FARGATE tasks on an empty cluster: the pool grows from
// zero to the bin-packed size and every task runs, on no visible instance;
// scaled to 0, the pool shrinks to zero after the cooldown.
func TestFargateServiceGrowsAndShrinksThePool(t *testing.T) {
	e := newPoolEnv(t, time.Second)
	e.registerFargate(t, "web", "256", "512")
	pool := e.CP.FargatePool()
	if s := pool.Stats("default"); s.Hosts != 0 || s.Starting != 0 {
		t.Fatalf("pool before any task: %+v", s)
	}
	start := time.Now()
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web",
		LaunchType: "FARGATE", DesiredCount: proto.Int32(20)}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "20 Fargate tasks RUNNING", func() bool {
		svc := e.service(t, "web")
		return svc.GetRunningCount() == 20 && svc.GetPendingCount() == 0
	})
	grown := time.Since(start)
	stats := pool.Stats("default")
	t.Logf("pool grew from 0 to %d hosts, 20 tasks RUNNING, in %v", stats.Hosts, grown.Round(time.Millisecond))
	if stats.Hosts != 5 || stats.ReservedCPU != 20*256 || stats.ReservedMemory != 20*512 || stats.Waiting != 0 {
		t.Fatalf("pool for 20 tasks of 256/512 on 1024/2048 hosts: %+v, want 5 full hosts", stats)
	}
	if n := e.prov.Hosts(); n != 5 {
		t.Fatalf("provisioner runs %d hosts, want 5", n)
	}

	list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: "web"})
	if err != nil || len(list.TaskArns) != 20 {
		t.Fatalf("ListTasks: %v %v", list, err)
	}
	desc, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.TaskArns})
	if err != nil || len(desc.Tasks) != 20 {
		t.Fatalf("DescribeTasks: %v %v", desc, err)
	}
	for _, task := range desc.Tasks {
		if task.ContainerInstanceArn != "" || task.LaunchType != "FARGATE" || task.LastStatus != "RUNNING" || task.AvailabilityZone == "" {
			t.Fatalf("Fargate task as described: containerInstanceArn %q launchType %q lastStatus %q az %q",
				task.ContainerInstanceArn, task.LaunchType, task.LastStatus, task.AvailabilityZone)
		}
	}
	instances, err := e.ECS.ListContainerInstances(e.Ctx, &berthv1.ListContainerInstancesRequest{})
	if err != nil || len(instances.ContainerInstanceArns) != 0 {
		t.Fatalf("ListContainerInstances shows pool hosts: %v %v", instances, err)
	}
	clusters, err := e.ECS.DescribeClusters(e.Ctx, &berthv1.DescribeClustersRequest{})
	if err != nil || clusters.Clusters[0].GetRegisteredContainerInstancesCount() != 0 || clusters.Clusters[0].GetRunningTasksCount() != 20 {
		t.Fatalf("DescribeClusters: %v %v", clusters, err)
	}

	scaleIn := time.Now()
	if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	var stopped time.Duration
	cptest.Eventually(t, "the service's tasks stopped", func() bool {
		svc := e.service(t, "web")
		if svc.GetRunningCount() == 0 && svc.GetPendingCount() == 0 && stopped == 0 {
			stopped = time.Since(scaleIn)
		}
		return stopped != 0
	})
	cptest.Eventually(t, "the pool shrunk to zero", func() bool {
		s := pool.Stats("default")
		return s.Hosts == 0 && s.Starting == 0 && e.prov.Hosts() == 0
	})
	t.Logf("scaled to 0: tasks STOPPED after %v, pool at 0 hosts after %v (cooldown 1s)",
		stopped.Round(time.Millisecond), time.Since(scaleIn).Round(time.Millisecond))
	if d := time.Since(scaleIn); d < time.Second {
		t.Fatalf("pool shrank in %v, before the 1s cooldown", d)
	}
}

// A RunTask of Fargate tasks with a capacity provider strategy runs them all,
// split as ECS splits them; stopping one frees its room.
func TestFargateRunTaskWithCapacityProviders(t *testing.T) {
	e := newPoolEnv(t, time.Minute)
	e.registerFargate(t, "job", "512", "1024")
	res, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "job", Count: 4, CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
		{CapacityProvider: "FARGATE", Base: 1, Weight: 1}, {CapacityProvider: "FARGATE_SPOT", Weight: 1}}})
	if err != nil || len(res.Tasks) != 4 {
		t.Fatalf("RunTask: %v %v", res, err)
	}
	arns := make([]string, len(res.Tasks))
	providers := map[string]int{}
	for i, task := range res.Tasks {
		arns[i] = task.TaskArn
		providers[task.CapacityProviderName]++
	}
	if providers["FARGATE"] != 3 || providers["FARGATE_SPOT"] != 1 { // base 1, then 2:1 (ties go to the first listed)
		t.Fatalf("base 1 weight 1 / weight 1 over 4: %v, want FARGATE 3, FARGATE_SPOT 1", providers)
	}
	cptest.Eventually(t, "4 tasks RUNNING", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		if err != nil {
			return false
		}
		for _, task := range d.Tasks {
			if task.LastStatus != "RUNNING" {
				return false
			}
		}
		return true
	})
	if s := e.CP.FargatePool().Stats("default"); s.Hosts != 2 {
		t.Fatalf("4 tasks of 512/1024 on 1024/2048 hosts: %+v, want 2 hosts", s)
	}
}

// A service with capacity provider strategy base 2 weight 1 (FARGATE) /
// weight 3 (FARGATE_SPOT) runs 4 and 6 of its 10 tasks on them, as ECS
// splits them; scaled to 14 the 4 new tasks split 1:3 again.
func TestFargateServiceCapacityProviderSplit(t *testing.T) {
	e := newPoolEnv(t, time.Minute)
	e.registerFargate(t, "web", "256", "512")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(10),
		CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			{CapacityProvider: "FARGATE", Base: 2, Weight: 1}, {CapacityProvider: "FARGATE_SPOT", Weight: 3}}}); err != nil {
		t.Fatal(err)
	}
	split := func(want int32) map[string]int {
		cptest.Eventually(t, "service running", func() bool {
			svc := e.service(t, "web")
			return svc.GetRunningCount() == want && svc.GetPendingCount() == 0
		})
		list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: "web"})
		if err != nil {
			t.Fatal(err)
		}
		desc, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, task := range desc.Tasks {
			out[task.CapacityProviderName]++
		}
		return out
	}
	if got := split(10); got["FARGATE"] != 4 || got["FARGATE_SPOT"] != 6 {
		t.Fatalf("10 tasks: %v, want FARGATE 4 (base 2 + 2), FARGATE_SPOT 6", got)
	}
	if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	if got := split(14); got["FARGATE"] != 5 || got["FARGATE_SPOT"] != 9 {
		t.Fatalf("14 tasks: %v, want FARGATE 5, FARGATE_SPOT 9", got)
	}
	if svc := e.service(t, "web"); svc.LaunchType != "" || len(svc.CapacityProviderStrategy) != 2 {
		t.Fatalf("service: launchType %q strategy %v", svc.LaunchType, svc.CapacityProviderStrategy)
	}
}

// With a provisioning delay a Fargate task waits in PROVISIONING (counted as
// pending) for its host's cold start; a second task that fits joins the same
// starting host instead of asking for another.
func TestFargateColdStart(t *testing.T) {
	const delay = 500 * time.Millisecond
	e := newPoolEnvDelay(t, time.Minute, delay)
	e.registerFargate(t, "job", "256", "512")
	start := time.Now()
	res, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "job", LaunchType: "FARGATE"})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "a host starting", func() bool { return e.CP.FargatePool().Stats("default").Starting == 1 })
	more, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "job", LaunchType: "FARGATE"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := e.ECS.DescribeClusters(e.Ctx, &berthv1.DescribeClustersRequest{})
	if err != nil || cl.Clusters[0].GetPendingTasksCount() != 2 {
		t.Fatalf("cluster during the cold start: %v %v", cl, err)
	}
	arns := []string{res.Tasks[0].TaskArn, more.Tasks[0].TaskArn}
	cptest.Eventually(t, "both tasks RUNNING", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		return err == nil && len(d.Tasks) == 2 && d.Tasks[0].LastStatus == "RUNNING" && d.Tasks[1].LastStatus == "RUNNING"
	})
	took := time.Since(start)
	t.Logf("cold start with a %v provisioning delay: RUNNING after %v", delay, took.Round(time.Millisecond))
	if took < delay {
		t.Fatalf("RUNNING after %v, before the %v delay", took, delay)
	}
	if s := e.CP.FargatePool().Stats("default"); s.Hosts != 1 || s.Starting != 0 {
		t.Fatalf("two small tasks: %+v, want one host", s)
	}
}

// Reclaiming Fargate Spot capacity interrupts FARGATE_SPOT tasks only (stop
// code SpotInterruption) and their service replaces them.
func TestFargateSpotInterruption(t *testing.T) {
	e := newPoolEnv(t, time.Minute)
	e.registerFargate(t, "web", "256", "512")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(4),
		CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			{CapacityProvider: "FARGATE", Base: 1, Weight: 0}, {CapacityProvider: "FARGATE_SPOT", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "4 tasks RUNNING", func() bool {
		svc := e.service(t, "web")
		return svc.GetRunningCount() == 4 && svc.GetPendingCount() == 0
	})
	checkCost(t, e)
	if _, err := e.Berth.InterruptSpotTasks(e.Ctx, &berthv1.InterruptSpotTasksRequest{Count: -1}); err == nil || !strings.Contains(err.Error(), "count: must not be negative") {
		t.Fatalf("negative count: %v", err)
	}
	res, err := e.Berth.InterruptSpotTasks(e.Ctx, &berthv1.InterruptSpotTasksRequest{}) // all of them
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 3 {
		t.Fatalf("interrupted %d tasks, want the 3 FARGATE_SPOT ones", len(res.Tasks))
	}
	arns := make([]string, len(res.Tasks))
	for i, task := range res.Tasks {
		arns[i] = task.TaskArn
		if task.CapacityProviderName != "FARGATE_SPOT" || task.StopCode != "SpotInterruption" || task.DesiredStatus != "STOPPED" {
			t.Fatalf("interrupted task: provider %q stopCode %q desired %q", task.CapacityProviderName, task.StopCode, task.DesiredStatus)
		}
	}
	cptest.Eventually(t, "the interrupted tasks STOPPED and replaced", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		if err != nil {
			return false
		}
		for _, task := range d.Tasks {
			if task.LastStatus != "STOPPED" || task.StopCode != "SpotInterruption" || task.StoppedReason != "Your Spot Task was interrupted." {
				return false
			}
		}
		svc := e.service(t, "web")
		return svc.GetRunningCount() == 4 && svc.GetPendingCount() == 0
	})
	list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: "web"})
	if err != nil || len(list.TaskArns) != 4 {
		t.Fatalf("tasks after the interruption: %v %v", list, err)
	}
}

// checkCost checks DescribeFargateCost and /metrics for the spot test's
// service: 1 FARGATE and 3 FARGATE_SPOT tasks of 256/512 on one pool host.
func checkCost(t *testing.T, e *poolEnv) {
	t.Helper()
	cost, err := e.Berth.DescribeFargateCost(e.Ctx, &berthv1.DescribeFargateCostRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := fargate.OnDemandPrice.PerHour(256, 512) + 3*fargate.SpotPrice.PerHour(256, 512)
	if len(cost.Tasks) != 4 || math.Abs(cost.TasksDollarsPerHour-want) > 1e-9 || len(cost.Services) != 1 ||
		cost.Services[0].RunningTasks != 4 || math.Abs(cost.Services[0].DollarsPerHour-want) > 1e-9 {
		t.Fatalf("cost of 1 FARGATE + 3 FARGATE_SPOT 256/512 tasks: %v, want %v per hour", cost, want)
	}
	minute := want / 60
	if so := cost.Services[0].DollarsSoFar; so < minute-1e-9 || so > 2*minute {
		t.Fatalf("service cost so far %v, want the one-minute minimum %v", so, minute)
	}
	if cost.PoolHosts != 1 || math.Abs(cost.PoolDollarsPerHour-fargate.OnDemandPrice.PerHour(1024, 2048)) > 1e-9 {
		t.Fatalf("pool cost: %d hosts, %v per hour", cost.PoolHosts, cost.PoolDollarsPerHour)
	}
	t.Logf("Fargate cost: tasks $%.5f/h, service so far $%.6f, pool (1 host) $%.5f/h",
		cost.TasksDollarsPerHour, cost.Services[0].DollarsSoFar, cost.PoolDollarsPerHour)
	resp, err := http.Get("http://" + e.CP.HTTPAddr() + "/metrics?access=" + e.CP.ViewerToken())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{`berth_fargate_pool_hosts{cluster="default"} 1`, `berth_fargate_tasks_waiting{cluster="default"} 0`,
		`berth_fargate_tasks_cost_dollars_per_hour{cluster="default"} `, `berth_fargate_pool_cost_dollars_per_hour{cluster="default"} `} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// Pool hosts and user instances side by side: Fargate tasks run on the pool
// only; EC2 tasks and DAEMON services on the user's instances only.
func TestFargateAndEC2KeepApart(t *testing.T) {
	e := newPoolEnv(t, time.Minute)
	e.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "t3.large", CPU: 4096, Memory: 8192})
	user := e.WaitInstances(t, 1)[0]
	e.registerFargate(t, "fg", "256", "512")
	if _, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "ec2",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(64)}}}); err != nil {
		t.Fatal(err)
	}
	fg, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "a pool host", func() bool { return e.CP.FargatePool().Stats("default").Hosts == 1 })
	ec2, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "ec2", Count: 5})
	if err != nil || len(ec2.Tasks) != 5 {
		t.Fatalf("EC2 RunTask: %v %v", ec2, err)
	}
	for _, task := range ec2.Tasks {
		if task.ContainerInstanceArn != user {
			t.Fatalf("EC2 task on %s, want the user's instance %s", task.ContainerInstanceArn, user)
		}
	}
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "daemon", TaskDefinition: "ec2", SchedulingStrategy: "DAEMON"}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the DAEMON service on the user's instance", func() bool {
		svc := e.service(t, "daemon")
		return svc.GetRunningCount() == 1 && svc.GetPendingCount() == 0
	})
	var svc *berthv1.Service
	cptest.Consistently(t, "the DAEMON service at 1 task over a few service passes (pool hosts are not the user's)", 300*time.Millisecond, func() bool {
		svc = e.service(t, "daemon")
		return svc.GetRunningCount() == 1 && svc.GetPendingCount() == 0
	})
	for _, ev := range svc.Events {
		if strings.Contains(ev.Message, "unable to place") {
			t.Fatalf("DAEMON service event: %s", ev.Message)
		}
	}
	arns := []string{fg.Tasks[0].TaskArn, fg.Tasks[1].TaskArn}
	cptest.Eventually(t, "the Fargate tasks RUNNING", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		return err == nil && d.Tasks[0].LastStatus == "RUNNING" && d.Tasks[1].LastStatus == "RUNNING"
	})
	onUser, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ContainerInstance: user})
	if err != nil || len(onUser.TaskArns) != 6 {
		t.Fatalf("tasks on the user's instance: %v %v, want the 5 EC2 tasks and the daemon's", onUser, err)
	}
}

// Without a provisioner the pool is static: agents that register with
// berth.pool=fargate (as a command provisioner's hosts do) run the Fargate
// tasks, hidden from the user, and nothing starts or stops them.
func TestFargateStaticPool(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond,
		Fargate: fargate.Config{Resync: 100 * time.Millisecond, Cooldown: 100 * time.Millisecond}})
	e := &poolEnv{Cluster: c}
	e.registerFargate(t, "fg", "256", "512")
	res, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE"})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Consistently(t, "with no pool host the task waits in PROVISIONING", 300*time.Millisecond, func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{res.Tasks[0].TaskArn}})
		return err == nil && d.Tasks[0].LastStatus == "PROVISIONING"
	})
	e.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1b", InstanceType: "pool", CPU: 1024, Memory: 2048,
		Attributes: map[string]string{"berth.pool": "fargate"}, Engine: engine.Options{PauseImage: "pause"}})
	cptest.Eventually(t, "the task RUNNING on the static pool host", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{res.Tasks[0].TaskArn}})
		return err == nil && d.Tasks[0].LastStatus == "RUNNING" && d.Tasks[0].AvailabilityZone == "us-east-1b"
	})
	if _, err := e.ECS.StopTask(e.Ctx, &berthv1.StopTaskRequest{Task: res.Tasks[0].TaskArn}); err != nil {
		t.Fatal(err)
	}
	cptest.Consistently(t, "the static pool keeps its host past the cooldown", 500*time.Millisecond, func() bool {
		return e.CP.FargatePool().Stats("default").Hosts == 1
	})
	if l, err := e.ECS.ListContainerInstances(e.Ctx, &berthv1.ListContainerInstancesRequest{}); err != nil || len(l.ContainerInstanceArns) != 0 {
		t.Fatalf("ListContainerInstances: %v %v", l, err)
	}
}

// The pool never grows past MaxHosts: what does not fit waits in
// PROVISIONING, and runs when room frees up.
func TestFargatePoolMaxHosts(t *testing.T) {
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return hollow.New(hollow.Config{}), nil },
		DataDir: t.TempDir(), Engine: engine.Options{PauseImage: "pause"},
	}
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond,
		Fargate: fargate.Config{Provisioner: prov, HostCPU: 1024, HostMemory: 2048, MaxHosts: 1, Resync: 100 * time.Millisecond}})
	e := &poolEnv{Cluster: c, prov: prov}
	e.registerFargate(t, "fg", "512", "1024")
	var arns []string
	for range 2 {
		res, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE", Count: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range res.Tasks {
			arns = append(arns, task.TaskArn)
		}
	}
	statuses := func() map[string]int {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, task := range d.Tasks {
			out[task.LastStatus]++
		}
		return out
	}
	cptest.Eventually(t, "2 RUNNING, 2 waiting", func() bool { s := statuses(); return s["RUNNING"] == 2 && s["PROVISIONING"] == 2 })
	cptest.Consistently(t, "the pool stays at MaxHosts 1 with 2 tasks waiting", 300*time.Millisecond, func() bool {
		s := e.CP.FargatePool().Stats("default")
		return s.Hosts == 1 && s.Starting == 0 && s.Waiting == 2
	})
	d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range d.Tasks {
		if task.LastStatus == "RUNNING" {
			if _, err := e.ECS.StopTask(e.Ctx, &berthv1.StopTaskRequest{Task: task.TaskArn}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	cptest.Eventually(t, "a waiting task RUNNING in the room freed", func() bool {
		s := statuses()
		return s["RUNNING"] == 2 && s["PROVISIONING"] == 1 && s["STOPPED"] == 1
	})
}
