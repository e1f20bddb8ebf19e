package agent_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/agent/session"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster is a control plane with short heartbeats and TTL.
type cluster struct{ *cptest.Cluster }

func newCluster(t *testing.T) *cluster {
	t.Helper()
	return &cluster{cptest.Start(t, controlplane.Config{HeartbeatPeriod: 100 * time.Millisecond, AgentTTL: 500 * time.Millisecond})}
}

func (c *cluster) startAgent(t *testing.T, rt *hollow.Runtime, dataDir, az, instanceType string) *cptest.Agent {
	t.Helper()
	return c.StartAgent(t, agent.Config{AvailabilityZone: az, InstanceType: instanceType, CPU: 2048, Memory: 4096, Runtime: rt, DataDir: dataDir})
}

func (c *cluster) register(t *testing.T, family string, memory int32) {
	t.Helper()
	_, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(memory),
			Command: []string{"sleep"}, PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) instances(t *testing.T, want int) []*berthv1.ContainerInstance {
	t.Helper()
	var out []*berthv1.ContainerInstance
	cptest.Eventually(t, fmt.Sprintf("%d connected instances", want), func() bool {
		list, err := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{Filter: "agentConnected == true"})
		if err != nil || len(list.ContainerInstanceArns) != want {
			return false
		}
		desc, err := c.ECS.DescribeContainerInstances(c.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: list.ContainerInstanceArns})
		out = desc.GetContainerInstances()
		return err == nil
	})
	return out
}

func (c *cluster) tasks(t *testing.T, arns []string) []*berthv1.Task {
	t.Helper()
	res, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tasks
}

func (c *cluster) waitStatus(t *testing.T, arns []string, status string) []*berthv1.Task {
	t.Helper()
	var tasks []*berthv1.Task
	cptest.Eventually(t, "tasks "+status, func() bool {
		tasks = c.tasks(t, arns)
		for _, task := range tasks {
			if task.LastStatus != status {
				return false
			}
		}
		return true
	})
	return tasks
}

func arnsOf(tasks []*berthv1.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.TaskArn)
	}
	return out
}

// Three agents in three zones: spread over zones puts one task in each; a
// memberOf constraint on the instance type is honoured; a DRAINING instance
// takes no new tasks; the tasks really run (RUNNING, host ports bound) and
// stop.
func TestThreeAgentsPlaceRunAndStop(t *testing.T) {
	c := newCluster(t)
	c.register(t, "web", 256)
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	types := []string{"t3.large", "m5.large", "t3.large"}
	for i, az := range zones {
		c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), az, types[i])
	}
	instances := c.instances(t, 3)
	zoneOf := map[string]string{}
	typeOf := map[string]string{}
	for _, in := range instances {
		for _, a := range in.Attributes {
			switch a.Name {
			case "ecs.availability-zone":
				zoneOf[in.ContainerInstanceArn] = a.Value
			case "ecs.instance-type":
				typeOf[in.ContainerInstanceArn] = a.Value
			}
		}
	}

	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 3,
		PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}}})
	if err != nil || len(run.Tasks) != 3 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	var got []string
	for _, task := range run.Tasks {
		got = append(got, zoneOf[task.ContainerInstanceArn])
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(zones) {
		t.Fatalf("spread over zones placed in %v", got)
	}
	tasks := c.waitStatus(t, arnsOf(run.Tasks), "RUNNING")
	for _, task := range tasks {
		ct := task.Containers[0]
		if ct.LastStatus != "RUNNING" || ct.RuntimeId == "" || len(ct.NetworkBindings) != 1 || ct.NetworkBindings[0].HostPort == 0 {
			t.Fatalf("running container: %v", ct)
		}
	}

	mem, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 4,
		PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == m5.large"}}})
	if err != nil || len(mem.Tasks) != 4 {
		t.Fatalf("RunTask memberOf: %v, %v", mem, err)
	}
	for _, task := range mem.Tasks {
		if typeOf[task.ContainerInstanceArn] != "m5.large" {
			t.Fatalf("memberOf m5.large placed on %s", typeOf[task.ContainerInstanceArn])
		}
	}

	if _, err := c.ECS.UpdateContainerInstancesState(c.Ctx, &berthv1.UpdateContainerInstancesStateRequest{
		ContainerInstances: []string{mem.Tasks[0].ContainerInstanceArn}, Status: "DRAINING"}); err != nil {
		t.Fatal(err)
	}
	drained, _ := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 1,
		PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == m5.large"}}})
	if len(drained.Tasks) != 0 || len(drained.Failures) != 1 {
		t.Fatalf("RunTask onto the DRAINING instance only: %v", drained)
	}

	for _, task := range run.Tasks {
		if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: task.TaskArn, Reason: "test over"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range c.waitStatus(t, arnsOf(run.Tasks), "STOPPED") {
		if task.StopCode != "UserInitiated" || task.StoppedReason != "test over" || task.Containers[0].ExitCode == nil {
			t.Fatalf("stopped task: %v", task)
		}
	}
	counts, _ := c.ECS.DescribeClusters(c.Ctx, &berthv1.DescribeClustersRequest{})
	if cl := counts.Clusters[0]; cl.GetRunningTasksCount() != 4 || cl.GetRegisteredContainerInstancesCount() != 3 {
		t.Fatalf("cluster counts: %v", cl)
	}
}

// An essential container that exits stops its task with ECS's stop code.
func TestEssentialExitStopsTheTask(t *testing.T) {
	c := newCluster(t)
	_, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "exit",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(64), Command: []string{"exit", "42"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), "us-east-1a", "t3.large")
	c.instances(t, 1)
	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "exit"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	task := c.waitStatus(t, arnsOf(run.Tasks), "STOPPED")[0]
	if task.StopCode != "EssentialContainerExited" || task.Containers[0].GetExitCode() != 42 {
		t.Fatalf("task whose essential container exited 42: %v", task)
	}
}

// A restarted agent (same data dir, same runtime: its containers kept
// running) is the same instance and re-adopts its tasks: no duplicates.
func TestRestartedAgentReadoptsItsTasks(t *testing.T) {
	c := newCluster(t)
	c.register(t, "web", 256)
	rt := hollow.New(hollow.Config{})
	dir := t.TempDir()
	first := c.startAgent(t, rt, dir, "us-east-1a", "t3.large")
	before := c.instances(t, 1)[0]
	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 2})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	c.waitStatus(t, arnsOf(run.Tasks), "RUNNING")
	list := func() int {
		cs, err := rt.List(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	containersBefore := list()

	first.Stop()
	c.startAgent(t, rt, dir, "us-east-1a", "t3.large")
	after := c.instances(t, 1)[0]
	if after.ContainerInstanceArn != before.ContainerInstanceArn {
		t.Fatalf("restarted agent became %s, was %s", after.ContainerInstanceArn, before.ContainerInstanceArn)
	}
	cptest.Consistently(t, "the tasks RUNNING and their containers neither doubled nor lost while the new engine acts on its full set", 500*time.Millisecond, func() bool {
		for _, task := range c.tasks(t, arnsOf(run.Tasks)) {
			if task.LastStatus != "RUNNING" {
				return false
			}
		}
		return list() == containersBefore
	})
}

func TestWrongJoinTokenIsRefused(t *testing.T) {
	c := newCluster(t)
	err := agent.Run(context.Background(), agent.Config{
		ControlPlane: c.CP.GRPCAddr(), JoinToken: "wrong", CPU: 1024, Memory: 1024,
		Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "refused the join token") {
		t.Fatalf("agent with a wrong token: %v", err)
	}
	if !errors.Is(err, session.ErrJoinRefused) {
		t.Fatalf("error does not wrap ErrJoinRefused: %v", err)
	}
	list, _ := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{})
	if len(list.ContainerInstanceArns) != 0 {
		t.Fatal("a refused agent registered an instance")
	}
}

func TestUnknownClusterIsRefused(t *testing.T) {
	c := newCluster(t)
	err := agent.Run(context.Background(), agent.Config{
		ControlPlane: c.CP.GRPCAddr(), JoinToken: c.CP.JoinToken(), Cluster: "nope", CPU: 1024, Memory: 1024,
		Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir(),
	})
	if !errors.Is(err, session.ErrRegistrationRefused) || !strings.Contains(err.Error(), `cluster "nope" not found`) {
		t.Fatalf("agent joining an unknown cluster: %v", err)
	}
}
