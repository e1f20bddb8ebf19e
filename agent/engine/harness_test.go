package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/internal/testimage"
)

// TestMain removes the Docker tests' image, then checks that no goroutine outlived
// its test.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testimage.Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

const testInstanceARN = "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i-1"

// harness runs an Engine over a runtime for one test and records what it reports.
type harness struct {
	t      *testing.T
	engine *Engine
	mu     sync.Mutex
	// reports are the state changes, in order.
	reports []*berthv1.TaskStateChange
	stop    func() // cancels Run and waits for it
}

// startEngine runs an engine over rt until stop or the end of the test.
func startEngine(t *testing.T, rt runtime.Runtime, opts Options) *harness {
	t.Helper()
	h := &harness{t: t}
	if opts.ContainerInstanceARN == "" {
		opts.ContainerInstanceARN = testInstanceARN
	}
	opts.Report = h.record
	e, err := New(rt, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) record(sc *berthv1.TaskStateChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports = append(h.reports, proto.Clone(sc).(*berthv1.TaskStateChange))
}

// assign sends an assignment message to the engine.
func (h *harness) assign(full bool, tasks ...*berthv1.TaskAssignment) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.engine.Assign(ctx, &berthv1.Assignments{Full: full, Tasks: tasks}); err != nil {
		h.t.Fatal(err)
	}
}

// last is the last state change reported of a task, or nil.
func (h *harness) last(taskARN string) *berthv1.TaskStateChange {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sc := range slices.Backward(h.reports) {
		if sc.GetTaskArn() == taskARN {
			return sc
		}
	}
	return nil
}

// statuses are the task's reported lastStatus values, repeats left out.
func (h *harness) statuses(taskARN string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, sc := range h.reports {
		if sc.GetTaskArn() == taskARN && (len(out) == 0 || out[len(out)-1] != sc.GetLastStatus()) {
			out = append(out, sc.GetLastStatus())
		}
	}
	return out
}

// count is how many reports of the task so far match pred.
func (h *harness) count(taskARN string, pred func(*berthv1.TaskStateChange) bool) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, sc := range h.reports {
		if sc.GetTaskArn() == taskARN && pred(sc) {
			n++
		}
	}
	return n
}

// waitStatus waits until the task reports status, and returns that report.
func (h *harness) waitStatus(taskARN, status string) *berthv1.TaskStateChange {
	h.t.Helper()
	var sc *berthv1.TaskStateChange
	waitFor(h.t, "task "+status, func() bool {
		sc = h.last(taskARN)
		return sc.GetLastStatus() == status
	})
	return sc
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// containerOf is the named container's state change in sc.
func containerOf(sc *berthv1.TaskStateChange, name string) *berthv1.ContainerStateChange {
	for _, c := range sc.GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// testTask is an assignment of a task named id with the given network mode and
// containers.
func testTask(id, mode string, defs ...*berthv1.ContainerDefinition) *berthv1.TaskAssignment {
	return &berthv1.TaskAssignment{
		Task: &berthv1.Task{
			TaskArn:              "arn:aws:ecs:us-east-1:000000000000:task/default/" + id,
			ClusterArn:           "arn:aws:ecs:us-east-1:000000000000:cluster/default",
			ContainerInstanceArn: testInstanceARN,
			DesiredStatus:        StatusRunning,
		},
		TaskDefinition: &berthv1.TaskDefinition{Family: "test", Revision: 1, NetworkMode: mode, ContainerDefinitions: defs},
	}
}

// stopped is a copy of an assignment with desiredStatus STOPPED.
func stoppedCopy(a *berthv1.TaskAssignment) *berthv1.TaskAssignment {
	c := proto.Clone(a).(*berthv1.TaskAssignment)
	c.Task.DesiredStatus, c.Task.StopCode = StatusStopped, "UserInitiated"
	return c
}

// runtimeID is the runtime id the engine reported for a container of task.
func (h *harness) runtimeID(task *berthv1.TaskAssignment, container string) string {
	h.t.Helper()
	id := containerOf(h.last(task.GetTask().GetTaskArn()), container).GetRuntimeId()
	if id == "" {
		h.t.Fatalf("no runtime id reported for %s", container)
	}
	return id
}
