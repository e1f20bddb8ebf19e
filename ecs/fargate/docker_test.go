package fargate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/engine"
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

// On real Docker, two Fargate tasks on the same pool host are isolated as
// ECS isolates them: each has its own network namespace (a health check on
// 127.0.0.1:8080 passes in the task that serves it and fails in the other)
// and each container has the task's memory as its limit.
func TestFargateIsolationOnDocker(t *testing.T) {
	image := testimage.Image(t) // skips without Docker unless BERTH_REQUIRE_DOCKER=1
	cli := dockertest.Client(t)
	ctx, cancel := dockertest.Context()
	defer cancel()
	d, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return d, nil },
		DataDir: t.TempDir(), RemoveContainersOnExit: true,
		Engine: engine.Options{PauseImage: image, PauseCommand: []string{"sleep"}, StopTimeout: 2 * time.Second},
	}
	t.Cleanup(func() { d.Close() }) // after the control plane (and the hosts) stopped
	c := cptest.Start(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond,
		Fargate:         fargate.Config{Provisioner: prov, HostCPU: 1024, HostMemory: 2048, Cooldown: time.Minute, Resync: 100 * time.Millisecond},
	})
	probe := &berthv1.HealthCheck{Command: []string{"CMD", testimage.Entrypoint, "health", "http://127.0.0.1:8080/"},
		Interval: proto.Int32(5), Timeout: proto.Int32(2), Retries: proto.Int32(1)}
	register := func(family, addr string) {
		_, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{
			Family: family, RequiresCompatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc", Cpu: "256", Memory: "512",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: image, Command: []string{"serve", addr},
				HealthCheck: probe, DockerLabels: dockertest.Labels(nil), StopTimeout: proto.Int32(2)}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	register("server", ":8080") // serves what its health check asks for
	register("other", ":9090")  // asks its own localhost for another task's port
	run := func(family string) string {
		res, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: family, LaunchType: "FARGATE"})
		if err != nil || len(res.Tasks) != 1 {
			t.Fatalf("RunTask %s: %v %v", family, res, err)
		}
		return res.Tasks[0].TaskArn
	}
	server := run("server")
	cptest.Eventually(t, "the server task RUNNING", func() bool {
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{server}})
		return err == nil && len(d.Tasks) == 1 && d.Tasks[0].LastStatus == "RUNNING"
	})
	other := run("other")
	health := map[string]string{}
	deadline := time.Now().Add(40 * time.Second)
	for health[server] == "" || health[server] == "UNKNOWN" || health[other] == "" || health[other] == "UNKNOWN" {
		if time.Now().After(deadline) {
			t.Fatalf("health not settled in 40s: %v", health)
		}
		time.Sleep(200 * time.Millisecond)
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{server, other}})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range d.Tasks {
			if task.LastStatus == "STOPPED" {
				t.Fatalf("task %s stopped: %s", task.TaskDefinitionArn, task.StoppedReason)
			}
			health[task.TaskArn] = task.HealthStatus
		}
	}
	if health[server] != "HEALTHY" || health[other] != "UNHEALTHY" {
		t.Fatalf("127.0.0.1:8080 from the server task: %s, from the other task on the same host: %s; want HEALTHY and UNHEALTHY",
			health[server], health[other])
	}
	if s := c.CP.FargatePool().Stats("default"); s.Hosts != 1 {
		t.Fatalf("two 256/512 tasks on 1024/2048 hosts: %+v, want one host", s)
	}
	// Each task's containers: the task's memory as their limit, and the
	// same pool host.
	instances := map[string]bool{}
	for _, taskARN := range []string{server, other} {
		list, err := cli.ContainerList(ctx, container.ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, ct := range list {
			if ct.Labels[rt.LabelTaskARN] != taskARN || strings.Contains(ct.Labels[rt.LabelContainerName], "pause") {
				continue
			}
			found++
			instances[ct.Labels[rt.LabelInstanceARN]] = true
			info, err := cli.ContainerInspect(ctx, ct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if info.HostConfig.Memory != 512<<20 {
				t.Errorf("task %s container %s: memory limit %d, want 512 MiB", taskARN, ct.Labels[rt.LabelContainerName], info.HostConfig.Memory)
			}
			if !strings.HasPrefix(string(info.HostConfig.NetworkMode), "container:") {
				t.Errorf("task %s: network mode %s, want its pause container's namespace", taskARN, info.HostConfig.NetworkMode)
			}
		}
		if found == 0 {
			t.Fatalf("no container of task %s", taskARN)
		}
	}
	if len(instances) != 1 {
		t.Fatalf("the two tasks ran on %d hosts, want 1: %v", len(instances), instances)
	}
}
