package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestWebDependsOnHealthyDB: a task registered over the API whose web container
// depends on its db container being HEALTHY (a CMD-SHELL health check) and publishes
// 8080 on a dynamic host port runs; DescribeTasks reports the binding, and the host
// port answers HTTP on loopback. StopTask stops it with UserInitiated, web before db.
func TestWebDependsOnHealthyDB(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	// Stopped containers are kept a while, so that Docker still has their finish times.
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir(), Engine: engine.Options{RemoveDelay: time.Minute}})
	s.connected(t)
	taskDef := s.register(t, webDBTaskDefinition(img))

	arn := s.runTask(t, taskDef)
	// web starts once db's health check (every 5 s) passed: allow more than
	// waitStatus does on a machine running other packages' tests.
	task := s.waitTaskWithin(t, time.Minute, arn, "task RUNNING", func(task *berthv1.Task) bool {
		return task.GetLastStatus() == engine.StatusRunning
	})
	hostPort := boundPort(t, containerOf(t, task, "web"), 8080)
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", hostPort)); body != "ok" {
		t.Errorf("web answered %q, want ok", body)
	}

	s.stopTask(t, arn, "test over")
	task = s.waitStatus(t, arn, engine.StatusStopped)
	if task.GetStopCode() != "UserInitiated" || task.GetStoppedReason() != "test over" {
		t.Errorf("stopCode %q, stoppedReason %q; want UserInitiated, test over", task.GetStopCode(), task.GetStoppedReason())
	}
	web := finishedAt(t, containerOf(t, task, "web").GetRuntimeId())
	db := finishedAt(t, containerOf(t, task, "db").GetRuntimeId())
	if !web.Before(db) {
		t.Errorf("web finished at %s, db at %s: web must stop first", web, db)
	}
}

// webDBTaskDefinition is the two-container task on the test image.
func webDBTaskDefinition(img string) *berthv1.RegisterTaskDefinitionRequest {
	labels := dockertest.Labels(nil)
	return &berthv1.RegisterTaskDefinitionRequest{
		Family: "web-db", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{
			Name: "db", Image: img, Memory: new(int32(64)), Command: []string{"serve", ":8080"}, DockerLabels: labels,
			HealthCheck: &berthv1.HealthCheck{Command: []string{"CMD-SHELL", "testapp health http://127.0.0.1:8080/"},
				Interval: new(int32(5)), Timeout: new(int32(2)), Retries: new(int32(3))},
		}, {
			Name: "web", Image: img, Memory: new(int32(64)), Command: []string{"serve", ":8080"}, DockerLabels: labels,
			DependsOn:    []*berthv1.ContainerDependency{{ContainerName: "db", Condition: "HEALTHY"}},
			PortMappings: []*berthv1.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}},
		}},
	}
}

// boundPort is the host port the container's port is bound to (Docker binds IPv4 and
// IPv6 on the same port, and reports both); it fails t if there is none.
func boundPort(t *testing.T, c *berthv1.Container, port int32) int32 {
	t.Helper()
	for _, b := range c.GetNetworkBindings() {
		if b.GetContainerPort() == port && b.GetHostPort() != 0 {
			return b.GetHostPort()
		}
	}
	t.Fatalf("%s networkBindings = %v, want %d on a dynamic host port", c.GetName(), c.GetNetworkBindings(), port)
	return 0
}

// finishedAt is when Docker saw the container exit.
func finishedAt(t *testing.T, id string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, inspect(t, id).State.FinishedAt)
	if err != nil {
		t.Fatalf("container %s finish time: %v", id, err)
	}
	return at
}

// httpGet polls url until it answers (RUNNING says the container runs, not that its
// server listens yet) and returns the body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var body []byte
	cptest.Eventually(t, "an answer from "+url, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil
	})
	return strings.TrimSpace(string(body))
}
