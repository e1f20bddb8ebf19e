package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestAgentKilledAndRestarted: an agent process killed with SIGKILL and started again
// on its data dir is the same container instance and carries on with the same
// containers: its tasks are still RUNNING on the Docker containers they had, no
// container is created, and a task stopped afterwards stops its own container (so the
// new agent has adopted it).
func TestAgentKilledAndRestarted(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	dir := t.TempDir()
	first := s.startAgentProcess(t, dir)
	instance := s.connected(t)
	taskDef := s.register(t, sleepTaskDefinition(img))
	kept, stopped := s.runTask(t, taskDef), s.runTask(t, taskDef)
	ids := map[string]string{}
	for _, arn := range []string{kept, stopped} {
		app := containerOf(t, s.waitStatus(t, arn, engine.StatusRunning), "app")
		ids[arn] = app.GetRuntimeId()
		if !strings.HasPrefix(app.GetImageDigest(), "sha256:") { // the agent's report, through DescribeTasks
			t.Errorf("task %s: imageDigest %q, want sha256:...", arn, app.GetImageDigest())
		}
	}

	first.kill()
	since := time.Now()
	s.startAgentProcess(t, dir)
	s.stopTask(t, stopped, "test over") // only the new agent can carry this out
	if got := containerOf(t, s.waitStatus(t, stopped, engine.StatusStopped), "app").GetRuntimeId(); got != ids[stopped] {
		t.Errorf("the stopped task's container is %s, want the adopted %s", got, ids[stopped])
	}
	task := s.describe(t, kept)
	if got := containerOf(t, task, "app").GetRuntimeId(); task.GetLastStatus() != engine.StatusRunning || got != ids[kept] {
		t.Errorf("after the restart the task is %s on container %s, want RUNNING on %s", task.GetLastStatus(), got, ids[kept])
	}
	if got := s.WaitInstances(t, 1); !slices.Equal(got, []string{instance}) {
		t.Errorf("instances after the restart: %v, want the same %s", got, instance)
	}
	if all, err := s.ECS.ListContainerInstances(s.Ctx, &berthv1.ListContainerInstancesRequest{}); err != nil || len(all.GetContainerInstanceArns()) != 1 {
		t.Errorf("container instances registered: %v, %v; want one", all.GetContainerInstanceArns(), err)
	}
	if created := containersCreated(t, instance, since); len(created) > 0 {
		t.Errorf("the restarted agent created containers %v", created)
	}
	s.stopTask(t, kept, "test over")
	s.waitStatus(t, kept, engine.StatusStopped)
}

// sleepTaskDefinition is a one-container task that runs until stopped.
func sleepTaskDefinition(img string) *berthv1.RegisterTaskDefinitionRequest {
	return &berthv1.RegisterTaskDefinitionRequest{
		Family: "sleep",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: img, Memory: new(int32(32)),
			Command: []string{"sleep"}, DockerLabels: dockertest.Labels(nil)}},
	}
}

// containersCreated lists the containers of instance that Docker created since then.
func containersCreated(t *testing.T, instance string, since time.Time) []string {
	t.Helper()
	stamp := func(at time.Time) string { return fmt.Sprintf("%d.%09d", at.Unix(), at.Nanosecond()) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, errs := dockertest.Client(t).Events(ctx, events.ListOptions{
		Since: stamp(since), Until: stamp(time.Now()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "create"),
			filters.Arg("label", runtime.LabelInstanceARN+"="+instance)),
	})
	var created []string
	for {
		select {
		case m := <-msgs:
			created = append(created, m.Actor.ID)
		case err := <-errs:
			if !errors.Is(err, io.EOF) {
				t.Fatalf("docker events: %v", err)
			}
			return created
		}
	}
}
