package servicecontroller_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a control plane with quick service resyncs and a short health
// grace, three hollow agents in three zones, and an ECS client.
type env struct {
	*cptest.Cluster
	runtimes []*hollow.Runtime
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Cluster: cptest.Start(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond, HealthGrace: 300 * time.Millisecond,
	})}
	for _, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		a := e.StartAgent(t, agent.Config{AvailabilityZone: az, InstanceType: "t3.large"})
		e.runtimes = append(e.runtimes, a.Runtime)
	}
	e.WaitInstances(t, 3)
	return e
}

func (e *env) register(t *testing.T, family string, command ...string) string {
	t.Helper()
	res, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(128),
			Command: command}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.TaskDefinition.TaskDefinitionArn
}

func (e *env) service(t *testing.T, name string) *berthv1.Service {
	t.Helper()
	res, err := e.ECS.DescribeServices(e.Ctx, &berthv1.DescribeServicesRequest{Services: []string{name}})
	if err != nil || len(res.Services) != 1 {
		t.Fatalf("describe %s: %v, %v", name, res, err)
	}
	return res.Services[0]
}

// steady waits for running = desired and a single COMPLETED deployment.
func (e *env) steady(t *testing.T, name string, desired int32) *berthv1.Service {
	t.Helper()
	var svc *berthv1.Service
	cptest.Eventually(t, "service "+name+" steady at "+string(rune('0'+desired)), func() bool {
		svc = e.service(t, name)
		return svc.GetRunningCount() == desired && svc.GetPendingCount() == 0 && len(svc.Deployments) == 1 &&
			svc.Deployments[0].RolloutState == "COMPLETED"
	})
	return svc
}

func (e *env) update(t *testing.T, req *berthv1.UpdateServiceRequest) {
	t.Helper()
	if _, err := e.ECS.UpdateService(e.Ctx, req); err != nil {
		t.Fatal(err)
	}
}

func (e *env) hasEvent(svc *berthv1.Service, substr string) bool {
	for _, ev := range svc.Events {
		if strings.Contains(ev.Message, substr) {
			return true
		}
	}
	return false
}

func TestServiceScalesAndReplacesTasks(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	svc := e.steady(t, "web", 3)
	if !e.hasEvent(svc, "has reached a steady state") || !e.hasEvent(svc, "has started") {
		t.Fatalf("events: %v", svc.Events)
	}
	list, _ := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: "web"})
	tasks, _ := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.TaskArns})
	zones := map[string]bool{}
	for _, task := range tasks.Tasks {
		zones[task.AvailabilityZone] = true
	}
	if len(zones) != 3 {
		t.Fatalf("3 tasks spread over %d zones, want 3 (ECS's default spread)", len(zones))
	}

	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(10)})
	e.steady(t, "web", 10)

	// A task whose container dies is replaced.
	victim := tasks.Tasks[0]
	for _, rt := range e.runtimes {
		rt.Exit(victim.Containers[0].RuntimeId, 137)
	}
	cptest.Eventually(t, "the dead task STOPPED and replaced", func() bool {
		d, _ := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{victim.TaskArn}})
		svc := e.service(t, "web")
		return d.Tasks[0].LastStatus == "STOPPED" && svc.GetRunningCount() == 10 && svc.GetPendingCount() == 0
	})

	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(0)})
	e.steady(t, "web", 0)
	if _, err := e.ECS.DeleteService(e.Ctx, &berthv1.DeleteServiceRequest{Service: "web"}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "service INACTIVE", func() bool { return e.service(t, "web").Status == "INACTIVE" })
}

// A new revision rolls out without ever dropping below the minimum healthy
// count (sampled throughout).
func TestRollingDeploymentKeepsMinimumHealthy(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(6),
		DeploymentConfiguration: &berthv1.DeploymentConfiguration{MinimumHealthyPercent: proto.Int32(50), MaximumPercent: proto.Int32(150)}})
	if err != nil {
		t.Fatal(err)
	}
	e.steady(t, "web", 6)
	v2 := e.register(t, "web", "sleep", "1h")
	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: v2})
	low, high := int32(1<<30), int32(0)
	cptest.Eventually(t, "rolled out to web:2", func() bool {
		svc := e.service(t, "web")
		total := svc.GetRunningCount() + svc.GetPendingCount()
		low, high = min(low, svc.GetRunningCount()), max(high, total)
		return len(svc.Deployments) == 1 && svc.Deployments[0].TaskDefinition == v2 &&
			svc.Deployments[0].RolloutState == "COMPLETED" && svc.GetRunningCount() == 6
	})
	if low < 3 || high > 9 {
		t.Fatalf("during the rollout RUNNING fell to %d (minimum 3) or RUNNING+PENDING rose to %d (maximum 9)", low, high)
	}
}

// A revision whose container exits at once trips the circuit breaker and
// rolls back.
func TestCircuitBreakerRollsBack(t *testing.T) {
	e := newEnv(t)
	v1 := e.register(t, "web", "sleep")
	_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(2),
		DeploymentConfiguration: &berthv1.DeploymentConfiguration{
			DeploymentCircuitBreaker: &berthv1.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	if err != nil {
		t.Fatal(err)
	}
	e.steady(t, "web", 2)
	bad := e.register(t, "web", "exit", "1")
	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: bad})
	cptest.Eventually(t, "rolled back to web:1", func() bool {
		svc := e.service(t, "web")
		return e.hasEvent(svc, "deployment failed") && e.hasEvent(svc, "rolling back") &&
			len(svc.Deployments) == 1 && svc.Deployments[0].TaskDefinition == v1 && svc.Deployments[0].RolloutState == "COMPLETED" &&
			svc.GetRunningCount() == 2
	})
	// The history: the first deployment SUCCESSFUL, the bad one rolled back
	// to the first one's revision.
	cptest.Eventually(t, "the bad deployment ROLLBACK_SUCCESSFUL", func() bool {
		list, err := e.ECS.ListServiceDeployments(e.Ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web"})
		return err == nil && len(list.ServiceDeployments) == 2 && list.ServiceDeployments[0].Status == "ROLLBACK_SUCCESSFUL" &&
			list.ServiceDeployments[1].Status == "SUCCESSFUL"
	})
	list, _ := e.ECS.ListServiceDeployments(e.Ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web"})
	d, err := e.ECS.DescribeServiceDeployments(e.Ctx, &berthv1.DescribeServiceDeploymentsRequest{
		ServiceDeploymentArns: []string{list.ServiceDeployments[0].ServiceDeploymentArn}})
	if err != nil || len(d.ServiceDeployments) != 1 {
		t.Fatalf("describe: %v %v", d, err)
	}
	if rb := d.ServiceDeployments[0].Rollback; rb.GetServiceRevisionArn() != list.ServiceDeployments[1].TargetServiceRevisionArn ||
		d.ServiceDeployments[0].DeploymentCircuitBreaker.GetStatus() != "TRIGGERED" {
		t.Fatalf("the rollback goes to the first revision %s: %v", list.ServiceDeployments[1].TargetServiceRevisionArn, d.ServiceDeployments[0])
	}
}

func TestDaemonServiceFollowsInstances(t *testing.T) {
	e := newEnv(t)
	e.register(t, "log", "sleep")
	_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "log", TaskDefinition: "log", SchedulingStrategy: "DAEMON"})
	if err != nil {
		t.Fatal(err)
	}
	e.steady(t, "log", 3)
	list, _ := e.ECS.ListContainerInstances(e.Ctx, &berthv1.ListContainerInstancesRequest{})
	e.ECS.UpdateContainerInstancesState(e.Ctx, &berthv1.UpdateContainerInstancesStateRequest{
		ContainerInstances: list.ContainerInstanceArns[:1], Status: "DRAINING"})
	e.steady(t, "log", 2)
}

func TestServiceBadInput(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ECS.DeregisterTaskDefinition(e.Ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web:1"}); err != nil {
		t.Fatal(err)
	}
	e.register(t, "api", "sleep")
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"negative desired count", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "a", TaskDefinition: "api", DesiredCount: proto.Int32(-1)})
			return err
		}, "desiredCount: must not be negative"},
		{"no desired count", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "a", TaskDefinition: "api"})
			return err
		}, "desiredCount: is required"},
		{"duplicate name", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "api", DesiredCount: proto.Int32(1)})
			return err
		}, "Creation of service was not idempotent"},
		{"INACTIVE task definition", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "b", TaskDefinition: "web:1", DesiredCount: proto.Int32(1)})
			return err
		}, "is INACTIVE"},
		{"unknown task definition", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "b", TaskDefinition: "nope", DesiredCount: proto.Int32(1)})
			return err
		}, `"nope"`},
		{"DAEMON with desired count", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "d", TaskDefinition: "api", SchedulingStrategy: "DAEMON", DesiredCount: proto.Int32(1)})
			return err
		}, "does not support a desired count"},
		{"DAEMON on Fargate", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "d", TaskDefinition: "api", SchedulingStrategy: "DAEMON", LaunchType: "FARGATE"})
			return err
		}, "Fargate does not support the DAEMON scheduling strategy"},
		{"no progress possible", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "p", TaskDefinition: "api", DesiredCount: proto.Int32(1),
				DeploymentConfiguration: &berthv1.DeploymentConfiguration{MinimumHealthyPercent: proto.Int32(100), MaximumPercent: proto.Int32(100)}})
			return err
		}, "or no task could ever be replaced"},
		{"maximum below 100", func() error {
			_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "p", TaskDefinition: "api", DesiredCount: proto.Int32(1),
				DeploymentConfiguration: &berthv1.DeploymentConfiguration{MinimumHealthyPercent: proto.Int32(0), MaximumPercent: proto.Int32(50)}})
			return err
		}, "maximumPercent: must be at least 100"},
		{"update unknown service", func() error {
			_, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "nope", DesiredCount: proto.Int32(1)})
			return err
		}, `service "nope" not found`},
		{"delete scaled service without force", func() error {
			if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(1)}); err != nil {
				return err
			}
			_, err := e.ECS.DeleteService(e.Ctx, &berthv1.DeleteServiceRequest{Service: "web"})
			return err
		}, "cannot be stopped while it is scaled above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || !strings.Contains(err.Error()+" "+detailOf(err), tt.want) {
				t.Fatalf("got %v (%s), want an error containing %q", err, detailOf(err), tt.want)
			}
		})
	}
	list, _ := e.ECS.ListServices(e.Ctx, &berthv1.ListServicesRequest{})
	if len(list.ServiceArns) != 1 {
		t.Fatalf("rejected requests created services: %v", list.ServiceArns)
	}
}

// Every placed task says why it is where it is, and a service that cannot
// place says why not.
func TestExplainTaskAndService(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.steady(t, "web", 2)
	list, _ := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: "web"})
	ex, err := e.Berth.ExplainTask(e.Ctx, &berthv1.ExplainTaskRequest{Task: list.TaskArns[0]})
	if err != nil {
		t.Fatal(err)
	}
	p := ex.GetPlacement()
	if p.GetCandidates() != 3 || len(p.GetSteps()) != 2 || p.Steps[0].Strategy != "spread(attribute:ecs.availability-zone)" ||
		p.Steps[1].Strategy != "spread(instanceId)" || ex.ContainerInstanceArn == "" {
		t.Fatalf("explanation: %v", ex)
	}

	res, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "huge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(100000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "huge", TaskDefinition: res.TaskDefinition.TaskDefinitionArn, DesiredCount: proto.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var f *berthv1.PlacementFailure
	cptest.Eventually(t, "a placement failure for service huge", func() bool {
		ex, err := e.Berth.ExplainService(e.Ctx, &berthv1.ExplainServiceRequest{Service: "huge"})
		f = ex.GetFailure()
		return err == nil && f != nil
	})
	if f.Reason != "RESOURCE:MEMORY" || f.Closest.GetMemory() <= 0 || len(f.Filtered) == 0 {
		t.Fatalf("failure: %v", f)
	}
	// Failing alike again keeps the failure as it was (writing a new time
	// would wake the controller again, and again), so UpdateService's
	// compare-and-set is not starved.
	cptest.Consistently(t, "the stored failure kept over ten resync periods", 10*100*time.Millisecond, func() bool {
		again, err := e.Berth.ExplainService(e.Ctx, &berthv1.ExplainServiceRequest{Service: "huge"})
		return err == nil && again.GetFailure().GetAt() == f.At
	})
	e.update(t, &berthv1.UpdateServiceRequest{Service: "huge", DesiredCount: proto.Int32(0)})

	for _, bad := range []*berthv1.ExplainTaskRequest{{}, {Task: "arn:aws:ecs:us-east-1:000000000000:service/default/x"}, {Cluster: "nope", Task: "abc"}} {
		if _, err := e.Berth.ExplainTask(e.Ctx, bad); status.Code(err) != codes.InvalidArgument && status.Code(err) != codes.NotFound {
			t.Errorf("ExplainTask(%v): %v, want InvalidArgument or NotFound", bad, err)
		}
	}
	if _, err := e.Berth.ExplainTask(e.Ctx, &berthv1.ExplainTaskRequest{Task: "0123456789abcdef0123456789abcdef"}); status.Code(err) != codes.NotFound {
		t.Errorf("ExplainTask of an unknown task: %v, want NotFound", err)
	}
	if _, err := e.Berth.ExplainService(e.Ctx, &berthv1.ExplainServiceRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ExplainService without a service: %v, want InvalidArgument", err)
	}
}

// detailOf is berth's own words in a gRPC error's details, when its message
// is ECS's text.
func detailOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()["detail"]
		}
	}
	return ""
}

// A service's tasks take the service's tags with propagateTags SERVICE and
// the task definition's with TASK_DEFINITION, as ECS copies them.
func TestServicePropagatesTags(t *testing.T) {
	e := newEnv(t)
	_, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: "tagged", Tags: []*berthv1.Tag{{Key: "from", Value: "taskdef"}},
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(128), Command: []string{"sleep"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ service, propagate, want string }{
		{"by-service", "SERVICE", "service"},
		{"by-taskdef", "TASK_DEFINITION", "taskdef"},
		{"by-none", "NONE", ""},
	} {
		_, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: c.service, TaskDefinition: "tagged",
			DesiredCount: proto.Int32(1), PropagateTags: c.propagate, Tags: []*berthv1.Tag{{Key: "from", Value: "service"}}})
		if err != nil {
			t.Fatal(err)
		}
		e.steady(t, c.service, 1)
		list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: c.service})
		if err != nil || len(list.TaskArns) != 1 {
			t.Fatalf("%s: tasks %v, %v", c.service, list, err)
		}
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.TaskArns, Include: []string{"TAGS"}})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, tag := range d.Tasks[0].Tags {
			if tag.Key == "from" {
				got = tag.Value
			}
		}
		if got != c.want {
			t.Errorf("%s (propagateTags %s): the task's tag from=%q, want %q (tags %v)", c.service, c.propagate, got, c.want, d.Tasks[0].Tags)
		}
	}
}
