package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestAgentGonePastTTL: the tasks of an agent stopped for longer than the TTL are
// STOPPED by the control plane, with a reason; their containers run on meanwhile,
// and when the agent returns (the same instance) it stops and removes them.
func TestAgentGonePastTTL(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, AgentTTL: time.Second})
	dir := t.TempDir()
	first := s.startDockerAgent(t, agent.Config{DataDir: dir})
	instance := s.connected(t)
	arn := s.runTask(t, s.register(t, sleepTaskDefinition(img)))
	id := containerOf(t, s.waitStatus(t, arn, engine.StatusRunning), "app").GetRuntimeId()

	if err := first.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("agent: %v", err)
	}
	task := s.waitStatus(t, arn, engine.StatusStopped)
	if task.GetStoppedReason() == "" {
		t.Errorf("the lost task has no stoppedReason")
	}
	if state := inspect(t, id).State; !state.Running {
		t.Errorf("with its agent gone the container is %s, want still running", state.Status)
	}

	s.startDockerAgent(t, agent.Config{DataDir: dir})
	if again := s.connected(t); again != instance {
		t.Fatalf("the returning agent is %s, was %s", again, instance)
	}
	cli := dockertest.Client(t)
	cptest.Eventually(t, "the lost task's container removed", func() bool {
		list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", runtime.LabelTaskARN+"="+arn))})
		return err == nil && len(list) == 0
	})
}
