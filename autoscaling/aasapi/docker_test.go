package aasapi_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/docker"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/taskmetrics"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

func TestMain(m *testing.M) { testimage.Main(m) }

// On real Docker, a task whose container spins reports its CPU from
// Docker's stats with the heartbeats: the service's average is far above
// zero (a spinning shell is one core, 1,024 units, against 256 reserved).
func TestDockerStatsReachTheControlPlane(t *testing.T) {
	image := testimage.Busybox(t) // skips without Docker unless BERTH_REQUIRE_DOCKER=1
	ctx, cancel := dockertest.Context()
	defer cancel()
	d, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 500 * time.Millisecond, AgentTTL: 30 * time.Second})
	c.StartAgent(t, agent.Config{Runtime: d, RemoveContainersOnExit: true, NoTaskEndpoint: true})
	c.WaitInstances(t, 1)
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "aas-spin", Cpu: "256", Memory: "128",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "spin", Image: image, Command: []string{"sh", "-c", "while :; do :; done"},
			DockerLabels: dockertest.Labels(nil)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: "aas-spin", TaskDefinition: "aas-spin", DesiredCount: proto.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.ECS.DeleteService(c.Ctx, &berthv1.DeleteServiceRequest{Service: "aas-spin", Force: true})
	})
	var task string
	cptest.Eventually(t, "the spinning task running", func() bool {
		l, err := c.ECS.ListTasks(c.Ctx, &berthv1.ListTasksRequest{ServiceName: "aas-spin", DesiredStatus: "RUNNING"})
		if err != nil || len(l.GetTaskArns()) != 1 {
			return false
		}
		task = l.GetTaskArns()[0]
		return true
	})
	var u taskmetrics.Utilization
	cptest.Eventually(t, "the task's CPU from Docker's stats", func() bool {
		u = c.CP.TaskMetrics().Average([]taskmetrics.TaskRef{{ARN: task}}, time.Now().Add(-3*time.Second))
		return u.CPUOK && u.CPU > 50 && u.MemoryOK
	})
	t.Logf("service average: cpu %.0f%% memory %.1f%% of the reservation", u.CPU, u.Memory)
}
