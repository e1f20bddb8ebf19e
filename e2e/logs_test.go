package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestTaskLogs reads a real container's output through the control plane and
// its agent: all of it, its last line with tail 1, and, followed, lines the
// container prints later, until the caller hangs up.
func TestTaskLogs(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	taskDef := s.register(t, &berthv1.RegisterTaskDefinitionRequest{
		Family: "logs",
		ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "printer", Image: img, Memory: new(int32(32)), Command: []string{"lines", "3"}, DockerLabels: dockertest.Labels(nil)},
			{Name: "ticker", Image: img, Memory: new(int32(32)), Command: []string{"lines", "1000", "200ms"}, DockerLabels: dockertest.Labels(nil)},
		},
	})
	task := s.runTask(t, taskDef)
	s.waitStatus(t, task, engine.StatusRunning)

	const want = "line 1\nline 2\nline 3\n"
	got := pollWithin(t, 30*time.Second, "the printer's three lines", func() string {
		out, err := s.taskLogs(s.Ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "printer"})
		if err != nil {
			t.Fatalf("GetTaskLogs: %v", err)
		}
		if len(out) != 1 && len(out) != 0 {
			t.Fatalf("GetTaskLogs of the printer returned %q", out)
		}
		return out["printer/stdout"]
	}, func(s string) bool { return len(s) >= len(want) })
	if got != want {
		t.Errorf("printer's output = %q, want %q", got, want)
	}
	out, err := s.taskLogs(s.Ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "printer", Tail: 1})
	if err != nil || len(out) != 1 || out["printer/stdout"] != "line 3\n" {
		t.Errorf("printer's output with tail 1 = %q, %v; want %q", out, err, "line 3\n")
	}

	ctx, cancel := context.WithCancel(s.Ctx)
	defer cancel()
	stream, err := s.Berth.GetTaskLogs(ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "ticker", Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	var followed string
	for strings.Count(followed, "\n") < 3 {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("followed the ticker for %q: %v", followed, err)
		}
		if m.Container != "ticker" || m.Stream != "stdout" {
			t.Fatalf("followed chunk of %s/%s, want ticker/stdout", m.Container, m.Stream)
		}
		followed += string(m.Data)
	}
	var n [3]int
	lines := strings.SplitN(followed, "\n", 4)
	for i := range n {
		if _, err := fmt.Sscanf(lines[i], "line %d", &n[i]); err != nil || (i > 0 && n[i] != n[i-1]+1) {
			t.Fatalf("followed %q, want consecutive lines", followed)
		}
	}
	cancel()
	for err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Canceled {
		t.Errorf("the follow ended with %v after the caller hung up, want Canceled", err)
	}
	s.stopTask(t, task, "test over")
	s.waitStatus(t, task, engine.StatusStopped)
}

// taskLogs reads a GetTaskLogs stream to its end: the output per container
// and stream ("printer/stdout").
func (s *stack) taskLogs(ctx context.Context, req *berthv1.GetTaskLogsRequest) (map[string]string, error) {
	stream, err := s.Berth.GetTaskLogs(ctx, req)
	if err != nil {
		return nil, err
	}
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
