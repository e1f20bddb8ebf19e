package e2e

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
)

// stopTimeout is the agents' grace between SIGTERM and SIGKILL: short, because
// busybox's sleep runs as PID 1 and ignores SIGTERM.
const stopTimeout = 2 * time.Second

// stack is a running control plane, with the container instances its agents
// registered, whose containers the test's cleanup sweeps.
type stack struct {
	*cptest.Cluster
	t         *testing.T
	docker    *client.Client
	instances []string
	// volumesDir is where the last agent started in the process keeps task volumes.
	volumesDir string
}

// newStack starts a control plane with cfg. Its sweep is the test's first cleanup, so
// it runs last: after the agents and the control plane have stopped.
func newStack(t *testing.T, cfg controlplane.Config) *stack {
	t.Helper()
	s := &stack{t: t, docker: dockertest.Client(t)} // skip (or fail) without a daemon before starting anything
	t.Cleanup(s.sweep)
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s.Cluster = cptest.Start(t, cfg)
	return s
}

// startDockerAgent runs an agent with cfg (its data dir, engine options and zone) in
// the test process on an offline Docker runtime of its own, until Stop or the test's
// end.
func (s *stack) startDockerAgent(t *testing.T, cfg agent.Config) *cptest.Agent {
	t.Helper()
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() }) // registered before the agent's: runs after it stops
	if cfg.Engine.StopTimeout == 0 {
		cfg.Engine.StopTimeout = stopTimeout
	}
	cfg.Runtime, cfg.CPU, cfg.Memory, cfg.Logger = rt, 2048, 4096, testLogger(t)
	s.volumesDir = filepath.Join(cfg.DataDir, agent.VolumesDir)
	return s.StartAgent(t, cfg)
}

// testLogger logs to the test's output, shown when it fails or with -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// connected waits until one instance has its agent connected, remembers it for the
// sweep and returns its ARN.
func (s *stack) connected(t *testing.T) string {
	t.Helper()
	return s.connectedInstances(t, 1)[0]
}

// connectedInstances waits until n instances have their agent connected, remembers
// them for the sweep and returns their ARNs.
func (s *stack) connectedInstances(t *testing.T, n int) []string {
	t.Helper()
	arns := s.WaitInstances(t, n)
	s.instances = append(s.instances, arns...)
	return arns
}

// sweep force-removes every container of the test's instances: what a failed test
// (or an agent killed on purpose) left.
func (s *stack) sweep() {
	cli, err := dockertest.NewClient()
	if err != nil {
		s.t.Errorf("sweep: %v", err)
		return
	}
	defer cli.Close()
	ctx, cancel := dockertest.Context()
	defer cancel()
	for _, arn := range s.instances {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", runtime.LabelInstanceARN+"="+arn))})
		if err != nil {
			s.t.Errorf("sweep %s: %v", arn, err)
			continue
		}
		for _, c := range list {
			err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			// An agent may remove it first, or be removing it now (Docker's
			// "removal ... is already in progress" is a conflict).
			if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
				s.t.Errorf("sweep container %s: %v", c.ID, err)
			}
		}
	}
}

// register registers req and returns the new revision's ARN.
func (s *stack) register(t *testing.T, req *berthv1.RegisterTaskDefinitionRequest) string {
	t.Helper()
	resp, err := s.ECS.RegisterTaskDefinition(s.Ctx, req)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", req.GetFamily(), err)
	}
	return resp.GetTaskDefinition().GetTaskDefinitionArn()
}

// runTask runs one task of taskDef and returns its ARN.
func (s *stack) runTask(t *testing.T, taskDef string) string {
	t.Helper()
	resp, err := s.ECS.RunTask(s.Ctx, &berthv1.RunTaskRequest{TaskDefinition: taskDef})
	if err != nil || len(resp.GetTasks()) != 1 {
		t.Fatalf("RunTask %s: %v, failures %v", taskDef, err, resp.GetFailures())
	}
	return resp.GetTasks()[0].GetTaskArn()
}

// stopTask asks for a task to stop.
func (s *stack) stopTask(t *testing.T, arn, reason string) {
	t.Helper()
	if _, err := s.ECS.StopTask(s.Ctx, &berthv1.StopTaskRequest{Task: arn, Reason: reason}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
}

// describe is the task as DescribeTasks reports it.
func (s *stack) describe(t *testing.T, arn string) *berthv1.Task {
	t.Helper()
	resp, err := s.ECS.DescribeTasks(s.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{arn}})
	if err != nil || len(resp.GetTasks()) != 1 {
		t.Fatalf("DescribeTasks %s: %v, failures %v", arn, err, resp.GetFailures())
	}
	return resp.GetTasks()[0]
}

// waitTask polls the task until cond holds and returns it.
func (s *stack) waitTask(t *testing.T, arn, what string, cond func(*berthv1.Task) bool) *berthv1.Task {
	t.Helper()
	var task *berthv1.Task
	cptest.Eventually(t, what, func() bool {
		task = s.describe(t, arn)
		return cond(task)
	})
	return task
}

// waitTaskWithin is waitTask for what takes longer than cptest.Eventually waits.
func (s *stack) waitTaskWithin(t *testing.T, within time.Duration, arn, what string, cond func(*berthv1.Task) bool) *berthv1.Task {
	t.Helper()
	return pollWithin(t, within, what, func() *berthv1.Task { return s.describe(t, arn) }, cond)
}

// pollWithin gets a state every 50 ms until cond holds of it and returns it; it fails
// t, showing the last state, after within.
func pollWithin[S any](t *testing.T, within time.Duration, what string, get func() S, cond func(S) bool) S {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		state := get()
		if cond(state) {
			return state
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %v", what, within, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStatus waits for the task's lastStatus to be status.
func (s *stack) waitStatus(t *testing.T, arn, status string) *berthv1.Task {
	t.Helper()
	return s.waitTask(t, arn, "task "+status, func(task *berthv1.Task) bool { return task.GetLastStatus() == status })
}

// containerOf is the task's container named name; it fails t if there is none.
func containerOf(t *testing.T, task *berthv1.Task, name string) *berthv1.Container {
	t.Helper()
	for _, c := range task.GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	t.Fatalf("task %s has no container %q: %v", task.GetTaskArn(), name, task.GetContainers())
	return nil
}

// inspect is Docker's view of a container.
func inspect(t *testing.T, id string) container.InspectResponse {
	t.Helper()
	info, err := dockertest.Client(t).ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return info
}
