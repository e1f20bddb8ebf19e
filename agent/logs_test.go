package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/internal/cptest"
)

// runLogsTask runs one task of a two-container definition on a hollow agent:
// "app" prints "line 1" to "line N", one every interval, and "web" runs an
// image hollow knows nothing of.
func (c *cluster) runLogsTask(t *testing.T, family string, lines, interval string) string {
	t.Helper()
	_, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "app", Image: "berth-test/app", Memory: proto.Int32(64), Command: []string{"lines", lines, interval}},
			{Name: "web", Image: "nginx", Memory: proto.Int32(64)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: family})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	arn := run.Tasks[0].TaskArn
	c.waitStatus(t, []string{arn}, "RUNNING")
	return arn
}

// readLogs reads a GetTaskLogs stream to its end: the output per container
// and stream ("app/stdout"), and the error that ended it (nil at EOF).
func readLogs(stream berthv1.Berth_GetTaskLogsClient) (map[string]string, error) {
	out := map[string]string{}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out[m.Container+"/"+m.Stream] += string(m.Data)
	}
}

func (c *cluster) logs(t *testing.T, req *berthv1.GetTaskLogsRequest) map[string]string {
	t.Helper()
	stream, err := c.Berth.GetTaskLogs(c.Ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := readLogs(stream)
	if err != nil {
		t.Fatalf("GetTaskLogs %v: %v", req, err)
	}
	return out
}

// GetTaskLogs returns what the hollow containers printed, all of the task's
// or one container's, whole or its last lines.
func TestTaskLogs(t *testing.T) {
	c := newCluster(t)
	c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), "us-east-1a", "t3.large")
	c.instances(t, 1)
	task := c.runLogsTask(t, "printer", "3", "0s")
	id := task[strings.LastIndex(task, "/")+1:]

	all := c.logs(t, &berthv1.GetTaskLogsRequest{Task: id})
	if all["app/stdout"] != "line 1\nline 2\nline 3\n" || !strings.HasPrefix(all["web/stdout"], "hollow container ") ||
		!strings.HasSuffix(all["web/stdout"], " started\n") || len(all) != 2 {
		t.Errorf("all the task's output = %q", all)
	}
	if got := c.logs(t, &berthv1.GetTaskLogsRequest{Task: task, Container: "app", Tail: 1}); len(got) != 1 || got["app/stdout"] != "line 3\n" {
		t.Errorf("app's last line = %q, want only app's %q", got, "line 3\n")
	}
}

// A follower gets output printed after it asked, and ends when its caller
// hangs up: the agent's goroutines that answered it end too. A follower of a
// task that stops reaches the end of the output.
func TestTaskLogsFollow(t *testing.T) {
	c := newCluster(t)
	c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), "us-east-1a", "t3.large")
	c.instances(t, 1)
	task := c.runLogsTask(t, "ticker", "1000", "100ms")

	ctx, cancel := context.WithCancel(c.Ctx)
	defer cancel()
	stream, err := c.Berth.GetTaskLogs(ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "app", Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	// The tail's one line, then lines printed later, in order.
	var n int
	if _, err := fmt.Sscanf(string(first.Data), "line %d\n", &n); err != nil {
		t.Fatalf("first chunk %q: %v", first.Data, err)
	}
	for want := n + 1; want <= n+3; want++ {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for line %d: %v", want, err)
		}
		var got int
		if _, err := fmt.Sscanf(string(m.Data), "line %d\n", &got); err != nil || got != want || m.Container != "app" {
			t.Fatalf("followed chunk %q of %s, want line %d of app", m.Data, m.Container, want)
		}
	}
	if !agentGoroutine("sendLogs") {
		t.Fatal("no goroutine of the agent answers the follower") // the check below would prove nothing
	}
	cancel()
	if _, err := readLogs(stream); status.Code(err) != codes.Canceled {
		t.Fatalf("follow after cancel ended with %v, want Canceled", err)
	}
	cptest.Eventually(t, "the agent stops following", func() bool { return !agentGoroutine("sendLogs") })

	// A follower of a task that stops gets the end of the output.
	stream, err = c.Berth.GetTaskLogs(c.Ctx, &berthv1.GetTaskLogsRequest{Task: task, Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: task}); err != nil {
		t.Fatal(err)
	}
	if out, err := readLogs(stream); err != nil {
		t.Fatalf("follow of a stopped task ended with %v (after %q), want its end", err, out)
	}
}

// Bad requests: an unknown task, a container the task does not have, a
// negative tail, a task whose instance's agent is gone.
func TestTaskLogsRefused(t *testing.T) {
	c := newCluster(t)
	a := c.startAgent(t, hollow.New(hollow.Config{}), t.TempDir(), "us-east-1a", "t3.large")
	instance := c.instances(t, 1)[0].ContainerInstanceArn
	task := c.runLogsTask(t, "refused", "1", "0s")
	cases := []struct {
		name string
		req  *berthv1.GetTaskLogsRequest
		code codes.Code
		want string
	}{
		{"unknown task", &berthv1.GetTaskLogsRequest{Task: "0123456789abcdef0123456789abcdef"}, codes.NotFound, "0123456789abcdef0123456789abcdef"},
		{"no task", &berthv1.GetTaskLogsRequest{}, codes.InvalidArgument, "task: is required"},
		{"unknown cluster", &berthv1.GetTaskLogsRequest{Cluster: "nope", Task: task}, codes.NotFound, "nope"},
		{"unknown container", &berthv1.GetTaskLogsRequest{Task: task, Container: "db"}, codes.InvalidArgument, `container: task ` + task + ` has no container named "db" (it has app, web)`},
		{"negative tail", &berthv1.GetTaskLogsRequest{Task: task, Tail: -1}, codes.InvalidArgument, "tail: must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := c.Berth.GetTaskLogs(c.Ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readLogs(stream); status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v containing %q", err, tc.code, tc.want)
			}
		})
	}

	if err := a.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	cptest.Eventually(t, "instance disconnected", func() bool {
		res, err := c.ECS.DescribeContainerInstances(c.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{instance}})
		return err == nil && len(res.ContainerInstances) == 1 && !res.ContainerInstances[0].AgentConnected
	})
	stream, err := c.Berth.GetTaskLogs(c.Ctx, &berthv1.GetTaskLogsRequest{Task: task})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readLogs(stream); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), instance) {
		t.Fatalf("agent gone: got %v, want FailedPrecondition naming %s", err, instance)
	}
}

// agentGoroutine reports whether a goroutine runs a function of the agent's
// session whose name contains fn.
func agentGoroutine(fn string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), "agent/session.(*Session)."+fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}
