package dispatcher_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// logsAgent is a hand-driven agent with a task, heartbeating until the test ends.
type logsAgent struct {
	*agent
	e       *env
	taskArn string
}

func (e *env) logsAgent(t *testing.T, instanceID string) *logsAgent {
	t.Helper()
	a := e.connect(t, bearerToken(e.CP), instanceID)
	a.recv() // registered
	a.recv() // full set
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); a.heartbeat(stop) }()
	t.Cleanup(func() { close(stop); <-done })
	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	if as := a.recv().GetAssignments(); len(as.GetTasks()) != 1 {
		t.Fatalf("assignment: %v", as)
	}
	return &logsAgent{agent: a, e: e, taskArn: run.Tasks[0].TaskArn}
}

// logsRequest waits for the next LogsRequest on the session.
func (a *logsAgent) logsRequest() *berthv1.LogsRequest {
	a.t.Helper()
	m := a.recv()
	req := m.GetLogsRequest()
	if req == nil {
		a.t.Fatalf("got %v, want a logs request", m)
	}
	return req
}

// answer opens the TaskLogs call that answers req, as the agent does.
func (a *logsAgent) answer(t *testing.T, req *berthv1.LogsRequest) berthv1.AgentSessions_TaskLogsClient {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bearerToken(a.e.CP)))
	t.Cleanup(cancel)
	call, err := berthv1.NewAgentSessionsClient(a.e.Dial(t)).TaskLogs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Send(&berthv1.TaskLogsChunk{RequestId: req.GetRequestId()}); err != nil {
		t.Fatal(err)
	}
	return call
}

// Output travels on its own call: while the caller does not read and the
// agent's sends are held back by flow control, the session still carries
// state changes and their acks; then the caller gets every byte, in order,
// and the end of the output when the agent closes the call.
func TestLogsTravelBesideTheSession(t *testing.T) {
	e := newEnv(t)
	a := e.logsAgent(t, "i-logs")
	stream, err := e.Berth.GetTaskLogs(e.Ctx, &berthv1.GetTaskLogsRequest{Task: a.taskArn, Container: "app", Tail: 5})
	if err != nil {
		t.Fatal(err)
	}
	req := a.logsRequest()
	if req.GetTaskArn() != a.taskArn || req.GetContainer() != "app" || req.GetTail() != 5 || req.GetFollow() || req.GetRequestId() == "" {
		t.Fatalf("logs request: %v", req)
	}
	call := a.answer(t, req)
	const chunks, size = 320, 64 << 10 // 20 MiB: more than flow control lets through unread (16 MiB at most)
	sent := make(chan error, 1)
	var sentChunks atomic.Int32
	go func() {
		for i := range chunks {
			data := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			if err := call.Send(&berthv1.TaskLogsChunk{Container: "app", Stream: "stdout", Data: data}); err != nil {
				sent <- err
				return
			}
			sentChunks.Add(1)
		}
		_, err := call.CloseAndRecv()
		sent <- err
	}()

	cptest.Eventually(t, "output on its way", func() bool { return sentChunks.Load() >= 1 })
	a.send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: &berthv1.TaskStateChanges{
		Batch: 1, Tasks: []*berthv1.TaskStateChange{{TaskArn: a.taskArn, LastStatus: "RUNNING", StartedAt: 1}},
	}}})
	if ack := a.recv().GetAck(); ack.GetBatch() != 1 {
		t.Fatalf("ack while logs wait: %v", ack)
	}
	select {
	case err := <-sent:
		t.Fatalf("the agent sent all of its output unread (%v): nothing was held back", err)
	default:
	}

	var got int
	for i := 0; ; i++ {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv after %d bytes: %v", got, err)
		}
		if m.Container != "app" || m.Stream != "stdout" || len(m.Data) == 0 || m.Data[0] != byte('a'+(got/size)%26) {
			t.Fatalf("chunk %d: container %q stream %q, %d bytes starting %q", i, m.Container, m.Stream, len(m.Data), m.Data[:1])
		}
		got += len(m.Data)
	}
	if got != chunks*size {
		t.Fatalf("got %d bytes, want %d", got, chunks*size)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the agent's call ended with %v", err)
	}
}

// A caller that hangs up ends the agent's TaskLogs call, even while the
// agent has nothing to send (a follower waiting for output).
func TestLogsCallerHangsUp(t *testing.T) {
	e := newEnv(t)
	a := e.logsAgent(t, "i-follow")
	ctx, cancel := context.WithCancel(e.Ctx)
	defer cancel()
	stream, err := e.Berth.GetTaskLogs(ctx, &berthv1.GetTaskLogsRequest{Task: a.taskArn, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	req := a.logsRequest()
	if !req.GetFollow() || req.GetContainer() != "" {
		t.Fatalf("logs request: %v", req)
	}
	call := a.answer(t, req)
	if err := call.Send(&berthv1.TaskLogsChunk{Container: "app", Stream: "stderr", Data: []byte("hello\n")}); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || string(m.Data) != "hello\n" || m.Stream != "stderr" {
		t.Fatalf("Recv: %v, %v", m, err)
	}
	cancel()
	ended := make(chan error, 1)
	go func() { ended <- call.RecvMsg(new(berthv1.TaskLogsDone)) }()
	select {
	case err := <-ended:
		if status.Code(err) != codes.Canceled {
			t.Fatalf("the agent's call ended with %v, want Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's call still open 10s after the caller hung up")
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("caller's Recv after cancel: %v", err)
	}
}

// What the agent cannot do reaches the caller as FailedPrecondition; an
// answer to a request no one waits for is refused; an instance whose agent
// left cannot be asked.
func TestLogsFailures(t *testing.T) {
	e := newEnv(t)
	a := e.logsAgent(t, "i-fail")
	stream, err := e.Berth.GetTaskLogs(e.Ctx, &berthv1.GetTaskLogsRequest{Task: a.taskArn})
	if err != nil {
		t.Fatal(err)
	}
	call := a.answer(t, a.logsRequest())
	if err := call.Send(&berthv1.TaskLogsChunk{Error: "container app has not been created yet"}); err != nil {
		t.Fatal(err)
	}
	call.CloseSend()
	if _, err := stream.Recv(); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "container app has not been created yet") {
		t.Fatalf("Recv: %v, want FailedPrecondition with the agent's reason", err)
	}

	stray := a.answer(t, &berthv1.LogsRequest{RequestId: "nobody-asked"})
	if _, err := stray.CloseAndRecv(); status.Code(err) != codes.NotFound {
		t.Fatalf("answer to an unknown request: %v, want NotFound", err)
	}

	instance := e.describeTask(t, a.taskArn).ContainerInstanceArn
	a.cancel()
	a.closedWith()
	cptest.Eventually(t, "instance disconnected", func() bool {
		res, err := e.ECS.DescribeContainerInstances(e.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{instance}})
		return err == nil && len(res.ContainerInstances) == 1 && !res.ContainerInstances[0].AgentConnected
	})
	stream, err = e.Berth.GetTaskLogs(e.Ctx, &berthv1.GetTaskLogsRequest{Task: a.taskArn})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), instance) {
		t.Fatalf("Recv with the agent gone: %v, want FailedPrecondition naming %s", err, instance)
	}
}
