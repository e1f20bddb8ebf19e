package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/testimage"
)

// The service tests play ecs/servicecontroller's scenarios on Docker: three
// agents in three zones share the daemon, each container carrying its instance's
// label, and the service scheduler runs as it does in production, only with a short
// health grace (1 s) and quick resyncs (200 ms).

// serviceWithin bounds every wait for a service: generous, since the daemon creates
// and stops containers one at a time for all the tests running side by side.
const serviceWithin = time.Minute

// TestServiceScales: a service scaled 0 -> 20 -> 5 -> 0 settles each time with
// runningCount at the desired count, pendingCount 0 and as many containers running in
// Docker; deleted, it goes INACTIVE with no container left.
func TestServiceScales(t *testing.T) {
	t.Parallel()
	s := newServiceStack(t)
	s.register(t, sleepTaskDefinition(testimage.Image(t)))
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "sleep", DesiredCount: new(int32(0))})
	for _, desired := range []int32{20, 5, 0} {
		s.updateService(t, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: new(desired)})
		s.steady(t, "web", desired)
	}
	if _, err := s.ECS.DeleteService(s.Ctx, &berthv1.DeleteServiceRequest{Service: "web"}); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	s.waitService(t, "web", "service INACTIVE with no container left", func(svc serviceState) bool {
		return svc.GetStatus() == "INACTIVE" && svc.containers == 0
	})
}

// TestServiceReplacesKilledTask: a task whose container is killed in Docker stops
// (exit code 137), and the service starts another in its place.
func TestServiceReplacesKilledTask(t *testing.T) {
	t.Parallel()
	s := newServiceStack(t)
	s.register(t, sleepTaskDefinition(testimage.Image(t)))
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "sleep", DesiredCount: new(int32(3))})
	s.steady(t, "web", 3)

	victim := s.serviceTasks(t, "web")[0]
	if err := s.docker.ContainerKill(context.Background(), containerOf(t, victim, "app").GetRuntimeId(), "SIGKILL"); err != nil {
		t.Fatalf("docker kill: %v", err)
	}
	wantExits(t, s.waitStatus(t, victim.GetTaskArn(), engine.StatusStopped), map[string]int32{"app": 137})
	s.steady(t, "web", 3)
	// A task that stopped on its own is no longer wanted: ListTasks (desiredStatus
	// RUNNING) lists the 3 that run, not the killed one.
	tasks := s.serviceTasks(t, "web")
	if len(tasks) != 3 || slices.ContainsFunc(tasks, func(task *berthv1.Task) bool { return task.GetTaskArn() == victim.GetTaskArn() }) {
		t.Errorf("the service's tasks are %v, want 3 without the killed %s", taskARNs(tasks), victim.GetTaskArn())
	}
}

// TestServiceRollingDeployment: a new revision rolls out to 6 tasks with
// minimumHealthyPercent 50 and maximumPercent 150, and at no moment sampled are
// fewer than 3 tasks RUNNING or more than 9 RUNNING and PENDING.
func TestServiceRollingDeployment(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newServiceStack(t)
	s.register(t, sleepTaskDefinition(img))
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "sleep", DesiredCount: new(int32(6)),
		DeploymentConfiguration: &berthv1.DeploymentConfiguration{MinimumHealthyPercent: new(int32(50)), MaximumPercent: new(int32(150))}})
	s.steady(t, "web", 6)

	revision2 := s.register(t, sleepTaskDefinition(img))
	s.updateService(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: revision2})
	low, high := int32(1<<30), int32(0)
	s.waitService(t, "web", "rolled out to "+revision2, func(svc serviceState) bool {
		low, high = min(low, svc.GetRunningCount()), max(high, svc.GetRunningCount()+svc.GetPendingCount())
		return onlyDeployment(svc.Service, revision2) && svc.GetRunningCount() == 6
	})
	if low < 3 || high > 9 {
		t.Errorf("during the rollout RUNNING fell to %d (minimum 3) or RUNNING+PENDING rose to %d (maximum 9)", low, high)
	}
	s.steady(t, "web", 6)
}

// TestServiceCircuitBreakerRollsBack: a revision whose container exits at once trips
// the deployment circuit breaker, which fails the deployment and rolls back to the
// revision before, running the desired count again.
func TestServiceCircuitBreakerRollsBack(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newServiceStack(t)
	revision1 := s.register(t, sleepTaskDefinition(img))
	// The breaker's threshold is at least 10 failed tasks. With 10 desired
	// (and maximumPercent 200), the new revision's 10 tasks start at once and
	// fail together, before the start-failure back-off spaces out further
	// starts (with 2 desired, reaching 10 failures takes minutes of back-off,
	// as in ECS).
	s.createService(t, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "sleep", DesiredCount: new(int32(10)),
		DeploymentConfiguration: &berthv1.DeploymentConfiguration{
			DeploymentCircuitBreaker: &berthv1.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	s.steady(t, "web", 10)

	failing := sleepTaskDefinition(img)
	failing.ContainerDefinitions[0].Command = []string{"exit", "1"}
	s.updateService(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: s.register(t, failing)})
	s.waitService(t, "web", "rolled back to "+revision1, func(svc serviceState) bool {
		return hasEvent(svc.Service, "deployment failed") && hasEvent(svc.Service, "rolling back") &&
			onlyDeployment(svc.Service, revision1)
	})
	s.steady(t, "web", 10)
}

// newServiceStack starts a control plane with a short health grace and quick service
// resyncs, and three Docker agents, in us-east-1a, b and c.
func newServiceStack(t *testing.T) *stack {
	t.Helper()
	s := newStack(t, controlplane.Config{ServiceResync: 200 * time.Millisecond, HealthGrace: time.Second})
	for _, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		s.startDockerAgent(t, agent.Config{DataDir: t.TempDir(), AvailabilityZone: zone})
	}
	s.connectedInstances(t, 3)
	return s
}

// createService creates a service.
func (s *stack) createService(t *testing.T, req *berthv1.CreateServiceRequest) {
	t.Helper()
	if _, err := s.ECS.CreateService(s.Ctx, req); err != nil {
		t.Fatalf("CreateService %s: %v", req.GetServiceName(), err)
	}
}

// updateService updates a service.
func (s *stack) updateService(t *testing.T, req *berthv1.UpdateServiceRequest) {
	t.Helper()
	if _, err := s.ECS.UpdateService(s.Ctx, req); err != nil {
		t.Fatalf("UpdateService %s: %v", req.GetService(), err)
	}
}

// serviceState is a service as DescribeServices reports it, and how many containers
// Docker has for the stack's instances.
type serviceState struct {
	*berthv1.Service
	containers int // running and exited
	running    int
}

func (s serviceState) String() string {
	return fmt.Sprintf("%d containers in Docker, %d running; %v", s.containers, s.running, s.Service)
}

// describeService is the service and its containers now.
func (s *stack) describeService(t *testing.T, name string) serviceState {
	t.Helper()
	resp, err := s.ECS.DescribeServices(s.Ctx, &berthv1.DescribeServicesRequest{Services: []string{name}})
	if err != nil || len(resp.GetServices()) != 1 {
		t.Fatalf("DescribeServices %s: %v, failures %v", name, err, resp.GetFailures())
	}
	state := serviceState{Service: resp.GetServices()[0]}
	for _, arn := range s.instances {
		list, err := s.docker.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", runtime.LabelInstanceARN+"="+arn))})
		if err != nil {
			t.Fatalf("docker list containers: %v", err)
		}
		for _, c := range list {
			state.containers++
			if c.State == "running" {
				state.running++
			}
		}
	}
	return state
}

// waitService polls the service until cond holds and returns it.
func (s *stack) waitService(t *testing.T, name, what string, cond func(serviceState) bool) serviceState {
	t.Helper()
	return pollWithin(t, serviceWithin, what, func() serviceState { return s.describeService(t, name) }, cond)
}

// steady waits for the service to run desired tasks, with none pending, one COMPLETED
// deployment and as many containers running in Docker.
func (s *stack) steady(t *testing.T, name string, desired int32) serviceState {
	t.Helper()
	return s.waitService(t, name, fmt.Sprintf("service %s steady at %d", name, desired), func(svc serviceState) bool {
		return svc.GetRunningCount() == desired && svc.GetPendingCount() == 0 && svc.running == int(desired) &&
			onlyDeployment(svc.Service, svc.GetTaskDefinition())
	})
}

// serviceTasks are the service's tasks whose desired status is RUNNING.
func (s *stack) serviceTasks(t *testing.T, name string) []*berthv1.Task {
	t.Helper()
	list, err := s.ECS.ListTasks(s.Ctx, &berthv1.ListTasksRequest{ServiceName: name})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	resp, err := s.ECS.DescribeTasks(s.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.GetTaskArns()})
	if err != nil || len(resp.GetTasks()) != len(list.GetTaskArns()) {
		t.Fatalf("DescribeTasks: %v, failures %v", err, resp.GetFailures())
	}
	return resp.GetTasks()
}

// onlyDeployment reports whether the service has one deployment, COMPLETED, of
// taskDef.
func onlyDeployment(svc *berthv1.Service, taskDef string) bool {
	deps := svc.GetDeployments()
	return len(deps) == 1 && deps[0].GetTaskDefinition() == taskDef && deps[0].GetRolloutState() == "COMPLETED"
}

// hasEvent reports whether one of the service's events says substr.
func hasEvent(svc *berthv1.Service, substr string) bool {
	return slices.ContainsFunc(svc.GetEvents(), func(ev *berthv1.ServiceEvent) bool {
		return strings.Contains(ev.GetMessage(), substr)
	})
}

// taskARNs are the tasks' ARNs.
func taskARNs(tasks []*berthv1.Task) []string {
	out := make([]string, len(tasks))
	for i, task := range tasks {
		out[i] = task.GetTaskArn()
	}
	return out
}
