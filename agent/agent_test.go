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
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/agent/session"
	"github.com/berth/berth/controlplane"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cluster is a control plane with an ECS client.
type cluster struct {
	cp  *controlplane.ControlPlane
	ecs berthv1.ECSClient
	ctx context.Context
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		HeartbeatPeriod: 100 * time.Millisecond, AgentTTL: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cp.Shutdown(ctx)
	})
	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &cluster{cp: cp, ecs: berthv1.NewECSClient(conn),
		ctx: metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken())}
}

// runningAgent is an agent running in the test.
type runningAgent struct {
	stop context.CancelFunc
	done chan error
}

func (c *cluster) startAgent(t *testing.T, rt *hollow.Runtime, dataDir, az, instanceType, token string) *runningAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAgent{stop: cancel, done: make(chan error, 1)}
	go func() {
		a.done <- agent.Run(ctx, agent.Config{
			ControlPlane: c.cp.GRPCAddr(), JoinToken: token, AvailabilityZone: az, InstanceType: instanceType,
			CPU: 2048, Memory: 4096, Runtime: rt, DataDir: dataDir,
		})
	}()
	t.Cleanup(func() { cancel(); <-a.done })
	return a
}

func (c *cluster) register(t *testing.T, family string, memory int32) {
	t.Helper()
	_, err := c.ecs.RegisterTaskDefinition(c.ctx, &berthv1.RegisterTaskDefinitionRequest{
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
	eventually(t, fmt.Sprintf("%d connected instances", want), func() bool {
		list, err := c.ecs.ListContainerInstances(c.ctx, &berthv1.ListContainerInstancesRequest{Filter: "agentConnected == true"})
		if err != nil || len(list.ContainerInstanceArns) != want {
			return false
		}
		desc, err := c.ecs.DescribeContainerInstances(c.ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: list.ContainerInstanceArns})
		out = desc.GetContainerInstances()
		return err == nil
	})
	return out
}

func (c *cluster) tasks(t *testing.T, arns []string) []*berthv1.Task {
	t.Helper()
	res, err := c.ecs.DescribeTasks(c.ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tasks
}

func (c *cluster) waitStatus(t *testing.T, arns []string, status string) []*berthv1.Task {
	t.Helper()
	var tasks []*berthv1.Task
	eventually(t, "tasks "+status, func() bool {
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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
		c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), az, types[i], c.cp.JoinToken())
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

	run, err := c.ecs.RunTask(c.ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 3,
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

	mem, err := c.ecs.RunTask(c.ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 4,
		PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == m5.large"}}})
	if err != nil || len(mem.Tasks) != 4 {
		t.Fatalf("RunTask memberOf: %v, %v", mem, err)
	}
	for _, task := range mem.Tasks {
		if typeOf[task.ContainerInstanceArn] != "m5.large" {
			t.Fatalf("memberOf m5.large placed on %s", typeOf[task.ContainerInstanceArn])
		}
	}

	if _, err := c.ecs.UpdateContainerInstancesState(c.ctx, &berthv1.UpdateContainerInstancesStateRequest{
		ContainerInstances: []string{mem.Tasks[0].ContainerInstanceArn}, Status: "DRAINING"}); err != nil {
		t.Fatal(err)
	}
	drained, _ := c.ecs.RunTask(c.ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 1,
		PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == m5.large"}}})
	if len(drained.Tasks) != 0 || len(drained.Failures) != 1 {
		t.Fatalf("RunTask onto the DRAINING instance only: %v", drained)
	}

	for _, task := range run.Tasks {
		if _, err := c.ecs.StopTask(c.ctx, &berthv1.StopTaskRequest{Task: task.TaskArn, Reason: "test over"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range c.waitStatus(t, arnsOf(run.Tasks), "STOPPED") {
		if task.StopCode != "UserInitiated" || task.StoppedReason != "test over" || task.Containers[0].ExitCode == nil {
			t.Fatalf("stopped task: %v", task)
		}
	}
	counts, _ := c.ecs.DescribeClusters(c.ctx, &berthv1.DescribeClustersRequest{})
	if cl := counts.Clusters[0]; cl.GetRunningTasksCount() != 4 || cl.GetRegisteredContainerInstancesCount() != 3 {
		t.Fatalf("cluster counts: %v", cl)
	}
}

// An essential container that exits stops its task with ECS's stop code.
func TestEssentialExitStopsTheTask(t *testing.T) {
	c := newCluster(t)
	_, err := c.ecs.RegisterTaskDefinition(c.ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "exit",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth-test/app", Memory: proto.Int32(64), Command: []string{"exit", "42"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), "us-east-1a", "t3.large", c.cp.JoinToken())
	c.instances(t, 1)
	run, err := c.ecs.RunTask(c.ctx, &berthv1.RunTaskRequest{TaskDefinition: "exit"})
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
	first := c.startAgent(t, rt, dir, "us-east-1a", "t3.large", c.cp.JoinToken())
	before := c.instances(t, 1)[0]
	run, err := c.ecs.RunTask(c.ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 2})
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

	first.stop()
	<-first.done
	first.done <- nil // for the cleanup
	c.startAgent(t, rt, dir, "us-east-1a", "t3.large", c.cp.JoinToken())
	after := c.instances(t, 1)[0]
	if after.ContainerInstanceArn != before.ContainerInstanceArn {
		t.Fatalf("restarted agent became %s, was %s", after.ContainerInstanceArn, before.ContainerInstanceArn)
	}
	time.Sleep(500 * time.Millisecond) // let the new engine act on its full set
	for _, task := range c.tasks(t, arnsOf(run.Tasks)) {
		if task.LastStatus != "RUNNING" {
			t.Fatalf("task after the agent restart: %v", task)
		}
	}
	if n := list(); n != containersBefore {
		t.Fatalf("%d containers after the restart, %d before: duplicates or losses", n, containersBefore)
	}
}

func TestWrongJoinTokenIsRefused(t *testing.T) {
	c := newCluster(t)
	err := agent.Run(context.Background(), agent.Config{
		ControlPlane: c.cp.GRPCAddr(), JoinToken: "wrong", CPU: 1024, Memory: 1024,
		Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "refused the join token") {
		t.Fatalf("agent with a wrong token: %v", err)
	}
	if !errors.Is(err, session.ErrJoinRefused) {
		t.Fatalf("error does not wrap ErrJoinRefused: %v", err)
	}
	list, _ := c.ecs.ListContainerInstances(c.ctx, &berthv1.ListContainerInstancesRequest{})
	if len(list.ContainerInstanceArns) != 0 {
		t.Fatal("a refused agent registered an instance")
	}
}
