package capacity_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/inprocess"
	"github.com/berth/berth/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// env is a control plane with EC2 capacity providers.
type env struct {
	*cptest.Cluster
}

func (e *env) createProvider(t *testing.T, name string, ms *berthv1.ManagedScaling) {
	t.Helper()
	_, err := e.ECS.CreateCapacityProvider(e.Ctx, &berthv1.CreateCapacityProviderRequest{Name: name,
		AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: "group-" + name, ManagedScaling: ms}})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) useProviders(t *testing.T, names []string, def ...*berthv1.CapacityProviderStrategyItem) {
	t.Helper()
	_, err := e.ECS.PutClusterCapacityProviders(e.Ctx, &berthv1.PutClusterCapacityProvidersRequest{
		Cluster: "default", CapacityProviders: names, DefaultCapacityProviderStrategy: def})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) register(t *testing.T, family string, cpu, memory int32) {
	t.Helper()
	_, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "app", Cpu: cpu, Memory: proto.Int32(memory), Essential: proto.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
}

// tasks are the cluster's tasks of a group (all when group is "").
func (e *env) tasks(t *testing.T, group string) []*berthv1.Task {
	t.Helper()
	var arns []string
	for _, status := range []string{"RUNNING", "STOPPED"} {
		l, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{DesiredStatus: status, MaxResults: 100})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, l.TaskArns...)
	}
	var out []*berthv1.Task
	for len(arns) > 0 {
		n := min(len(arns), 100)
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns[:n]})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if group == "" || task.Group == group {
				out = append(out, task)
			}
		}
		arns = arns[n:]
	}
	return out
}

// instances are the cluster's ACTIVE instances, by ARN.
func (e *env) instances(t *testing.T) map[string]*berthv1.ContainerInstance {
	t.Helper()
	l, err := e.ECS.ListContainerInstances(e.Ctx, &berthv1.ListContainerInstancesRequest{Status: "ACTIVE"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*berthv1.ContainerInstance{}
	if len(l.ContainerInstanceArns) == 0 {
		return out
	}
	d, err := e.ECS.DescribeContainerInstances(e.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: l.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range d.ContainerInstances {
		out[in.ContainerInstanceArn] = in
	}
	return out
}

// byProvider counts live tasks per capacity provider, and checks that each
// placed task is on an instance of its provider.
func (e *env) byProvider(t *testing.T, tasks []*berthv1.Task) map[string]int {
	t.Helper()
	instances := e.instances(t)
	out := map[string]int{}
	for _, task := range tasks {
		if task.DesiredStatus != "RUNNING" {
			continue
		}
		out[task.CapacityProviderName]++
		if in := instances[task.ContainerInstanceArn]; task.ContainerInstanceArn != "" && in.GetCapacityProviderName() != task.CapacityProviderName {
			t.Errorf("task %s of provider %s is on instance %s of provider %q", task.TaskArn, task.CapacityProviderName, task.ContainerInstanceArn, in.GetCapacityProviderName())
		}
	}
	return out
}

func allRunning(tasks []*berthv1.Task, n int) bool {
	running := 0
	for _, task := range tasks {
		if task.LastStatus == "RUNNING" && task.DesiredStatus == "RUNNING" {
			running++
		}
	}
	return running == n
}

func item(provider string, weight, base int32) *berthv1.CapacityProviderStrategyItem {
	return &berthv1.CapacityProviderStrategyItem{CapacityProvider: provider, Weight: weight, Base: base}
}

// A strategy of base 2 weight 1 on one EC2 provider and weight 3 on another
// splits tasks as ECS does, for RunTask and for a service as it scales; each
// task runs on an instance of its provider.
func TestBaseAndWeightOverTwoProviders(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond,
		HealthGrace: 300 * time.Millisecond, Capacity: capacity.Config{Resync: 100 * time.Millisecond}})
	e := &env{c}
	disabled := &berthv1.ManagedScaling{Status: "DISABLED"}
	e.createProvider(t, "blue", disabled)
	e.createProvider(t, "green", disabled)
	e.useProviders(t, []string{"blue", "green"})
	for _, p := range []string{"blue", "green", "blue", "green"} {
		e.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "m5.xlarge", Attributes: map[string]string{store.ProviderAttribute: p}})
	}
	e.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "m5.xlarge"}) // no provider's
	e.WaitInstances(t, 5)
	e.register(t, "web", 128, 256)
	strategy := []*berthv1.CapacityProviderStrategyItem{item("blue", 1, 2), item("green", 3, 0)}

	res, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 6, Group: "batch", CapacityProviderStrategy: strategy})
	if err != nil || len(res.Tasks) != 6 {
		t.Fatalf("RunTask: %v %v", res, err)
	}
	for _, task := range res.Tasks {
		if task.LastStatus != "PROVISIONING" || task.ContainerInstanceArn != "" {
			t.Fatalf("RunTask on capacity providers answers PROVISIONING tasks on no instance, got %s on %q", task.LastStatus, task.ContainerInstanceArn)
		}
	}
	// base 2 on blue, then 4 shared 1:3
	if got := e.byProvider(t, taskList(res.Tasks)); got["blue"] != 3 || got["green"] != 3 {
		t.Fatalf("RunTask split %v, want blue 3 green 3", got)
	}
	cptest.Eventually(t, "RunTask's tasks RUNNING", func() bool { return allRunning(e.tasks(t, "batch"), 6) })
	e.byProvider(t, e.tasks(t, "batch"))

	_, err = e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "svc", TaskDefinition: "web", DesiredCount: proto.Int32(10),
		CapacityProviderStrategy: strategy})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "10 service tasks RUNNING", func() bool { return allRunning(e.tasks(t, "service:svc"), 10) })
	if got := e.byProvider(t, e.tasks(t, "service:svc")); got["blue"] != 4 || got["green"] != 6 {
		t.Fatalf("service of 10 split %v, want blue 4 (base 2 + 2) green 6", got)
	}
	// Scaling out shares the new tasks so that the whole keeps the weights.
	if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "svc", DesiredCount: proto.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "14 service tasks RUNNING", func() bool { return allRunning(e.tasks(t, "service:svc"), 14) })
	if got := e.byProvider(t, e.tasks(t, "service:svc")); got["blue"] != 5 || got["green"] != 9 {
		t.Fatalf("service of 14 split %v, want blue 5 (base 2 + 3) green 9", got)
	}
	d, err := e.ECS.DescribeServices(e.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"svc"}})
	if err != nil || d.Services[0].LaunchType != "" || len(d.Services[0].CapacityProviderStrategy) != 2 {
		t.Fatalf("service: %v %v", d, err)
	}
}

func taskList(tasks []*berthv1.Task) []*berthv1.Task {
	out := make([]*berthv1.Task, 0, len(tasks))
	for _, task := range tasks {
		out = append(out, proto.Clone(task).(*berthv1.Task))
	}
	return out
}

// Managed scaling grows an empty provider to what a service needs, in steps
// of at most maximumScalingStepSize spaced by the warm-up, reports the
// reservation in /metrics, and shrinks back to zero once the service is
// scaled to 0.
func TestManagedScaling(t *testing.T) {
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return hollow.New(hollow.Config{}), nil },
		DataDir: t.TempDir(), Engine: engine.Options{PauseImage: "pause"},
	}
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond,
		HealthGrace: 300 * time.Millisecond,
		Capacity:    capacity.Config{Provisioner: prov, InstanceCPU: 1024, InstanceMemory: 2048, ScaleInAfter: 500 * time.Millisecond, Resync: 100 * time.Millisecond}})
	e := &env{c}
	e.createProvider(t, "asg", &berthv1.ManagedScaling{TargetCapacity: 100, MaximumScalingStepSize: 2, InstanceWarmupPeriod: 1})
	e.useProviders(t, []string{"asg"}, item("asg", 1, 0))
	e.register(t, "web", 256, 512)

	start := time.Now()
	// No launch type and no strategy: the cluster's default strategy.
	_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	var firstTwo time.Duration
	cptest.Eventually(t, "10 tasks RUNNING", func() bool {
		if firstTwo == 0 && len(e.instances(t)) >= 2 {
			firstTwo = time.Since(start)
		}
		return allRunning(e.tasks(t, "service:web"), 10)
	})
	all := time.Since(start)
	instances := e.instances(t)
	// 4 tasks fill an instance of 1024 CPU / 2048 MiB: 10 need 3.
	if len(instances) != 3 {
		t.Fatalf("%d instances, want 3 (the lower bound for 10 tasks of 256/512 on 1024/2048)", len(instances))
	}
	for _, in := range instances {
		if in.CapacityProviderName != "asg" {
			t.Errorf("instance %s: capacityProviderName %q", in.ContainerInstanceArn, in.CapacityProviderName)
		}
	}
	t.Logf("0 -> 3 instances, 10 tasks RUNNING in %v (2 instances at %v: max step 2, warm-up 1 s)", all.Round(time.Millisecond), firstTwo.Round(time.Millisecond))
	if all < time.Second {
		t.Errorf("all RUNNING after %v: the third instance did not wait for the warm-up of the first step", all)
	}
	cptest.Eventually(t, "reservation 100 in /metrics", func() bool {
		return metric(t, e, `berth_capacity_provider_reservation{cluster="default",provider="asg"}`) == "100"
	})
	d, err := e.ECS.DescribeCapacityProviders(e.Ctx, &berthv1.DescribeCapacityProvidersRequest{CapacityProviders: []string{"asg"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &berthv1.CapacityProviderReservation{ClusterName: "default", Reservation: 100, InstancesRunning: 3, InstancesNeeded: 3}
	if r := d.CapacityProviders[0].Reservations; len(r) != 1 || !proto.Equal(r[0], want) {
		t.Fatalf("DescribeCapacityProviders reservations %v, want %v", r, want)
	}

	if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	cptest.Eventually(t, "the instance group scaled in to zero", func() bool { return len(e.instances(t)) == 0 })
	t.Logf("3 -> 0 instances in %v after scaling to 0 (scale-in after 500 ms)", time.Since(start).Round(time.Millisecond))
	cptest.Eventually(t, "no in-process instance left", func() bool { return prov.Hosts() == 0 })
}

// metric is the value of one sample in /metrics, or "".
func metric(t *testing.T, e *env, sample string) string {
	t.Helper()
	res, err := http.Get("http://" + e.CP.HTTPAddr() + "/metrics?access=" + e.CP.ViewerToken())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}
