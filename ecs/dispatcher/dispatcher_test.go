package dispatcher_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/pki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ttl = 400 * time.Millisecond

// env is a control plane with short heartbeats and TTL, a task definition
// web, and an ECS client.
type env struct{ *cptest.Cluster }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{cptest.Start(t, controlplane.Config{HeartbeatPeriod: ttl / 4, AgentTTL: ttl})}
	_, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "web",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(256)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// agent speaks the agent protocol by hand.
type agent struct {
	t      *testing.T
	stream berthv1.AgentSessions_SessionClient
	cancel context.CancelFunc
	in     chan *berthv1.ControlPlaneMessage
	errs   chan error
}

func (e *env) connect(t *testing.T, token, instanceID string) *agent {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token))
	stream, err := berthv1.NewAgentSessionsClient(e.Dial(t)).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, stream: stream, cancel: cancel, in: make(chan *berthv1.ControlPlaneMessage, 100), errs: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := stream.Recv()
			if err != nil {
				a.errs <- err
				return
			}
			a.in <- m
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	a.send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Register{Register: &berthv1.RegisterInstance{
		InstanceId: instanceID,
		RegisteredResources: []*berthv1.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(2048)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: proto.Int32(4096)},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22"}},
		},
		Attributes: []*berthv1.Attribute{{Name: "ecs.availability-zone", Value: "us-east-1a"}},
	}}})
	return a
}

func (a *agent) send(m *berthv1.AgentMessage) {
	a.t.Helper()
	if err := a.stream.Send(m); err != nil {
		a.t.Fatalf("send: %v", err)
	}
}

func (a *agent) recv() *berthv1.ControlPlaneMessage {
	a.t.Helper()
	select {
	case m := <-a.in:
		return m
	case err := <-a.errs:
		a.t.Fatalf("session ended: %v", err)
	case <-time.After(10 * time.Second):
		a.t.Fatal("no message from the control plane within 10s")
	}
	return nil
}

// closedWith waits for the session to end and returns its error.
func (a *agent) closedWith() error {
	a.t.Helper()
	for {
		select {
		case <-a.in:
		case err := <-a.errs:
			return err
		case <-time.After(10 * time.Second):
			a.t.Fatal("session still open after 10s")
		}
	}
}

func (a *agent) heartbeat(stop <-chan struct{}) {
	tick := time.NewTicker(ttl / 4)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if a.stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Heartbeat{Heartbeat: &berthv1.Heartbeat{}}}) != nil {
				return
			}
		}
	}
}

func (e *env) describeTask(t *testing.T, arn string) *berthv1.Task {
	t.Helper()
	res, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{arn}})
	if err != nil || len(res.Tasks) != 1 {
		t.Fatalf("describe %s: %v, %v", arn, res, err)
	}
	return res.Tasks[0]
}

func TestSessionCarriesAssignmentsAndReports(t *testing.T) {
	e := newEnv(t)
	a := e.connect(t, bearerToken(e.CP), "i-one")
	reg := a.recv().GetRegistered()
	if reg == nil || !strings.Contains(reg.ContainerInstanceArn, ":container-instance/default/") || reg.HeartbeatPeriodMs != 100 {
		t.Fatalf("registered: %v", reg)
	}
	full := a.recv().GetAssignments()
	if full == nil || !full.Full || full.Sequence != 1 || len(full.Tasks) != 0 {
		t.Fatalf("first assignments: %v", full)
	}

	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	taskArn := run.Tasks[0].TaskArn
	change := a.recv().GetAssignments()
	if change == nil || change.Full || change.Sequence != 2 || len(change.Tasks) != 1 ||
		change.Tasks[0].Task.TaskArn != taskArn || change.Tasks[0].TaskDefinition.Family != "web" {
		t.Fatalf("assignment of the new task: %v", change)
	}

	a.send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: &berthv1.TaskStateChanges{
		Batch: 7, Tasks: []*berthv1.TaskStateChange{{TaskArn: taskArn, LastStatus: "RUNNING", StartedAt: 1,
			Containers: []*berthv1.ContainerStateChange{{Name: "app", LastStatus: "RUNNING", RuntimeId: "abc"}}}},
	}}})
	if ack := a.recv().GetAck(); ack == nil || ack.Batch != 7 {
		t.Fatalf("ack: %v", ack)
	}
	if task := e.describeTask(t, taskArn); task.LastStatus != "RUNNING" || task.Containers[0].RuntimeId != "abc" {
		t.Fatalf("task after the report: %v", task)
	}

	if _, err := e.ECS.StopTask(e.Ctx, &berthv1.StopTaskRequest{Task: taskArn}); err != nil {
		t.Fatal(err)
	}
	stop := a.recv().GetAssignments()
	if stop == nil || stop.Sequence != 3 || stop.Tasks[0].Task.DesiredStatus != "STOPPED" {
		t.Fatalf("stop assignment: %v", stop)
	}

	a.send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Resync{Resync: &berthv1.Resync{LastSequence: 1}}})
	if full := a.recv().GetAssignments(); !full.Full || full.Sequence != 4 || len(full.Tasks) != 1 {
		t.Fatalf("resync: %v", full)
	}
}

func TestSilentAgentLosesItsTasksAndIsToldOnReturn(t *testing.T) {
	e := newEnv(t)
	a := e.connect(t, bearerToken(e.CP), "i-quiet")
	a.recv() // registered
	a.recv() // full set
	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	// No heartbeats: cut off after the TTL, tasks lost after another.
	if err := a.closedWith(); status.Code(err) != codes.Aborted {
		t.Fatalf("silent session ended with %v, want Aborted", err)
	}
	cptest.Eventually(t, "task STOPPED as lost", func() bool {
		task := e.describeTask(t, run.Tasks[0].TaskArn)
		return task.LastStatus == "STOPPED" && strings.Contains(task.StoppedReason, "agent was disconnected")
	})
	inst, _ := e.ECS.DescribeContainerInstances(e.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{run.Tasks[0].ContainerInstanceArn}})
	if inst.ContainerInstances[0].AgentConnected {
		t.Fatal("instance still agentConnected")
	}

	back := e.connect(t, bearerToken(e.CP), "i-quiet")
	reg := back.recv().GetRegistered()
	if reg.ContainerInstanceArn != run.Tasks[0].ContainerInstanceArn {
		t.Fatalf("returning agent got a new instance %s", reg.ContainerInstanceArn)
	}
	if full := back.recv().GetAssignments(); !full.Full || len(full.Tasks) != 0 {
		t.Fatalf("returning agent's full set holds lost tasks: %v", full)
	}
}

func TestHeartbeatingAgentStaysAndNewerSessionWins(t *testing.T) {
	e := newEnv(t)
	a := e.connect(t, bearerToken(e.CP), "i-live")
	a.recv()
	a.recv()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); a.heartbeat(stop) }()
	defer func() { close(stop); <-done }()
	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	cptest.Consistently(t, "the task of a heartbeating agent kept over several TTLs", 3*ttl, func() bool {
		return e.describeTask(t, run.Tasks[0].TaskArn).LastStatus != "STOPPED"
	})

	b := e.connect(t, bearerToken(e.CP), "i-live")
	b.recv()
	if full := b.recv().GetAssignments(); len(full.Tasks) != 1 {
		t.Fatalf("newer session's full set: %v", full)
	}
	if err := a.closedWith(); status.Code(err) != codes.Aborted {
		t.Fatalf("older session ended with %v, want Aborted", err)
	}
	inst, _ := e.ECS.DescribeContainerInstances(e.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{run.Tasks[0].ContainerInstanceArn}})
	if !inst.ContainerInstances[0].AgentConnected {
		t.Fatal("the older session's end marked the instance disconnected under the newer one")
	}
}

func TestBadSessions(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		token    string
		register *berthv1.RegisterInstance
		code     codes.Code
		want     string
	}{
		{"wrong join token", "nope", &berthv1.RegisterInstance{InstanceId: "i-x"}, codes.Unauthenticated, "invalid token"},
		{"admin token is not a join token", e.CP.AdminToken(), &berthv1.RegisterInstance{InstanceId: "i-x"}, codes.Unauthenticated, "invalid token"},
		{"unknown cluster", bearerToken(e.CP), &berthv1.RegisterInstance{Cluster: "nope", InstanceId: "i-x", RegisteredResources: []*berthv1.Resource{
			{Name: "CPU", IntegerValue: proto.Int32(1)}, {Name: "MEMORY", IntegerValue: proto.Int32(1)}}}, codes.NotFound, `cluster "nope" not found`},
		{"no resources", bearerToken(e.CP), &berthv1.RegisterInstance{InstanceId: "i-x"}, codes.InvalidArgument, "CPU and MEMORY must be registered"},
		{"bad port", bearerToken(e.CP), &berthv1.RegisterInstance{InstanceId: "i-x", RegisteredResources: []*berthv1.Resource{
			{Name: "PORTS", StringSetValue: []string{"99999"}}}}, codes.InvalidArgument, "registeredResources[0].stringSetValue[0]"},
		{"no instance id", bearerToken(e.CP), &berthv1.RegisterInstance{RegisteredResources: []*berthv1.Resource{
			{Name: "CPU", IntegerValue: proto.Int32(1)}, {Name: "MEMORY", IntegerValue: proto.Int32(1)}}}, codes.InvalidArgument, "instanceId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tt.token))
			defer cancel()
			stream, err := berthv1.NewAgentSessionsClient(e.Dial(t)).Session(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Register{Register: tt.register}})
			_, err = stream.Recv()
			if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.code, tt.want)
			}
		})
	}
	list, err := e.ECS.ListContainerInstances(e.Ctx, &berthv1.ListContainerInstancesRequest{})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Fatalf("a rejected session registered something: %v, %v", list, err)
	}
}

// bearerToken is the join token's secret, which agents of the older plain
// token file send as a bearer token: these tests speak the session
// protocol in plain text with it (agent/session speaks mutual TLS).
func bearerToken(cp *controlplane.ControlPlane) string {
	tok, err := pki.ParseJoinToken(cp.JoinToken())
	if err != nil {
		panic(err)
	}
	return tok.Secret
}
