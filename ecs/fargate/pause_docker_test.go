package fargate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/pause"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/inprocess"
	"github.com/berth/berth/internal/testimage"
)

// On a Docker daemon that lacks berth's pause image and reaches no registry, a
// Fargate task runs: its pool host makes the pause image, the task's container joins
// the pause container's network namespace, and StopTask ends the pause container
// with status 0.
func TestFargateTaskMakesItsPauseImage(t *testing.T) {
	image := testimage.Image(t) // skips without Docker unless BERTH_REQUIRE_DOCKER=1
	cli := dockertest.Client(t)
	ref := "berth-test/pause:" + strings.TrimPrefix(dockertest.Name("fargate"), "berth-test-")
	dockertest.RemoveImageOnCleanup(t, cli, ref) // after the hosts removed their containers
	d, err := docker.New(t.Context(), docker.Options{Offline: true, PauseImage: ref, PauseImageLabels: dockertest.Labels(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return d, nil },
		DataDir: t.TempDir(), RemoveContainersOnExit: true,
		// No PauseCommand: the image's own entrypoint waits. RemoveDelay keeps the
		// stopped containers to be inspected.
		Engine: engine.Options{PauseImage: ref, StopTimeout: 2 * time.Second, RemoveDelay: time.Minute},
	}
	c := cptest.Start(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond,
		Fargate:         fargate.Config{Provisioner: prov, HostCPU: 1024, HostMemory: 2048, Cooldown: time.Minute, Resync: 100 * time.Millisecond},
	})
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: "web", RequiresCompatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc", Cpu: "256", Memory: "512",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: image, Command: []string{"serve", ":8080"},
			DockerLabels: dockertest.Labels(nil)}},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", LaunchType: "FARGATE"})
	if err != nil || len(res.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", res, err)
	}
	task := res.Tasks[0].TaskArn
	waitStatus(t, c, task, "RUNNING")
	img, err := cli.ImageInspect(c.Ctx, ref)
	if err != nil || img.Config.Labels[pause.LabelImage] != "pause" {
		t.Fatalf("the pause image after the task started: %v, %v", img.Config, err)
	}
	pauseID := pauseContainer(t, cli, task, ref)

	if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: task}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, task, "STOPPED")
	info, err := cli.ContainerInspect(c.Ctx, pauseID)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Running || info.State.ExitCode != 0 {
		t.Fatalf("the stopped task's pause container: running %v, exit code %d; want exited 0", info.State.Running, info.State.ExitCode)
	}
}

// waitStatus waits for task to reach status; a task that stops first fails t.
func waitStatus(t *testing.T, c *cptest.Cluster, task, status string) {
	t.Helper()
	var last *berthv1.Task
	cptest.Eventually(t, "task "+status, func() bool {
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{task}})
		if err != nil || len(d.Tasks) != 1 {
			return false
		}
		last = d.Tasks[0]
		if last.LastStatus == "STOPPED" && status != "STOPPED" {
			t.Fatalf("task stopped: %s", last.StoppedReason)
		}
		return last.LastStatus == status
	})
}

// pauseContainer is the id of task's pause container, which must run image ref and
// hold the network namespace that the task's container joins.
func pauseContainer(t *testing.T, cli *client.Client, task, ref string) string {
	t.Helper()
	list, err := cli.ContainerList(t.Context(), container.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var pauseID, appID string
	for _, ct := range list {
		switch {
		case ct.Labels[rt.LabelTaskARN] != task:
		case strings.Contains(ct.Labels[rt.LabelContainerName], "pause"):
			pauseID = ct.ID
			if ct.Image != ref {
				t.Errorf("pause container image %s, want %s", ct.Image, ref)
			}
		default:
			appID = ct.ID
		}
	}
	if pauseID == "" || appID == "" {
		t.Fatalf("task %s: pause container %q, app container %q", task, pauseID, appID)
	}
	app, err := cli.ContainerInspect(t.Context(), appID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "container:" + pauseID; string(app.HostConfig.NetworkMode) != want {
		t.Errorf("app network mode %s, want %s", app.HostConfig.NetworkMode, want)
	}
	return pauseID
}
