package engine

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// These tests run tasks on the real Docker daemon with the project's test image. They
// skip without a daemon unless BERTH_REQUIRE_DOCKER=1, and remove every container they
// made, pass or fail.

// startDockerEngine runs an engine on Docker under an instance ARN of the test's own,
// and removes that instance's containers when the test ends.
func startDockerEngine(t *testing.T) (*harness, string) {
	t.Helper()
	image := testimage.Image(t)
	instance := testInstanceARN + "-" + dockertest.Name("engine")
	return startDockerEngineOf(t, instance, image), image
}

// startDockerEngineOf runs an engine of instance on a Docker runtime of its own, the
// test image as its pause container, task volumes in a directory of the test's.
func startDockerEngineOf(t *testing.T, instance, image string) *harness {
	t.Helper()
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		removeInstanceContainers(t, rt, instance)
		rt.Close()
	})
	return startEngine(t, rt, Options{ContainerInstanceARN: instance, StopTimeout: 5 * time.Second,
		PauseImage: image, PauseCommand: []string{"sleep"}, VolumesDir: t.TempDir()})
}

// removeInstanceContainers removes what an engine of instance left, once the engine
// has stopped; a removal the engine began may still be finishing, so it tries until
// the instance has no container left.
func removeInstanceContainers(t *testing.T, rt *docker.Runtime, instance string) {
	ctx, cancel := dockertest.Context()
	defer cancel()
	var lastErr error
	waitFor(t, "the test's containers removed", func() bool {
		cs, err := rt.List(ctx, map[string]string{runtime.LabelInstanceARN: instance})
		lastErr = err
		for _, c := range cs {
			if err := rt.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				lastErr = err
			}
		}
		return err == nil && len(cs) == 0
	})
	if lastErr != nil {
		t.Logf("removing the test's containers: %v", lastErr)
	}
}

// dockerDef is a container definition on the test image running command.
func dockerDef(name, image string, command ...string) *berthv1.ContainerDefinition {
	return &berthv1.ContainerDefinition{
		Name: name, Image: image, Essential: new(true), Command: command,
		StopTimeout: new(int32(5)), DockerLabels: dockertest.Labels(nil),
	}
}

func TestDockerTaskWithHealthyDependency(t *testing.T) {
	h, image := startDockerEngine(t)
	db := dockerDef("db", image, "serve", ":8080")
	db.HealthCheck = &berthv1.HealthCheck{
		Command:  []string{"CMD-SHELL", "testapp health http://127.0.0.1:8080/"},
		Interval: new(int32(1)), Timeout: new(int32(2)), Retries: new(int32(3)), StartPeriod: new(int32(0)),
	}
	web := dockerDef("web", image, "serve", ":8080")
	web.DependsOn = []*berthv1.ContainerDependency{{ContainerName: "db", Condition: condHealthy}}
	web.PortMappings = []*berthv1.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}
	task := testTask(dockertest.Name("task"), "bridge", db, web)
	arn := task.Task.TaskArn
	h.assign(true, task)

	sc := h.waitStatus(arn, StatusRunning)
	if h.count(arn, createdBeforeHealthy("web", "db")) > 0 {
		t.Errorf("web was created before db was healthy")
	}
	bindings := containerOf(sc, "web").GetNetworkBindings()
	if len(bindings) == 0 || bindings[0].GetHostPort() == 0 || bindings[0].GetContainerPort() != 8080 {
		t.Fatalf("web networkBindings = %v, want 8080 on a dynamic host port", bindings)
	}
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", bindings[0].GetHostPort())); body != "ok" {
		t.Errorf("web answered %q, want ok", body)
	}

	h.assign(false, stoppedCopy(task))
	h.waitStatus(arn, StatusStopped)
	if h.count(arn, stoppedFirst("web", "db")) == 0 || h.count(arn, stoppedFirst("db", "web")) > 0 {
		t.Errorf("web did not stop before db, which it depends on")
	}
}

// httpGet polls url until it answers (RUNNING says the container runs, not that its
// server listens yet) and returns the body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var body []byte
	waitFor(t, "an answer from "+url, func() bool {
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

func TestDockerEssentialExit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command []string
		memory  int32
		code    int32
		reason  string
	}{
		{name: "exit 42", command: []string{"exit", "42"}, code: 42},
		{name: "OOM", command: []string{"alloc", "256M"}, memory: 32, code: 137, reason: OOMReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, image := startDockerEngine(t)
			def := dockerDef("app", image, tc.command...)
			if tc.memory > 0 {
				def.Memory = new(tc.memory)
			}
			task := testTask(dockertest.Name("task"), "bridge", def)
			h.assign(true, task)

			sc := h.waitStatus(task.Task.TaskArn, StatusStopped)
			app := containerOf(sc, "app")
			if sc.GetStopCode() != StopCodeEssentialContainerExited || app.GetExitCode() != tc.code || app.GetReason() != tc.reason {
				t.Errorf("stopCode %q, exitCode %d, reason %q; want %q, %d, %q", sc.GetStopCode(),
					app.GetExitCode(), app.GetReason(), StopCodeEssentialContainerExited, tc.code, tc.reason)
			}
		})
	}
}

// TestDockerAWSVPC: the task's containers share the pause container's network
// namespace, so a health check on 127.0.0.1 in one reaches the server in another;
// the server's port, published by the pause container on the host's loopback,
// answers there.
func TestDockerAWSVPC(t *testing.T) {
	h, image := startDockerEngine(t)
	web := dockerDef("web", image, "serve", ":8080")
	web.PortMappings = []*berthv1.PortMapping{{ContainerPort: 8080, HostPort: new(int32(8080))}}
	probe := dockerDef("probe", image, "sleep")
	probe.HealthCheck = &berthv1.HealthCheck{
		Command:  []string{"CMD-SHELL", "testapp health http://127.0.0.1:8080/"},
		Interval: new(int32(1)), Timeout: new(int32(2)), Retries: new(int32(3)), StartPeriod: new(int32(0)),
	}
	task := testTask(dockertest.Name("task"), NetworkAWSVPC, web, probe)
	arn := task.Task.TaskArn
	h.assign(true, task)

	h.waitStatus(arn, StatusRunning)
	waitFor(t, "the task healthy", func() bool { return h.last(arn).GetHealthStatus() == HealthHealthy })
	nbs := containerOf(h.last(arn), "web").GetNetworkBindings()
	if len(nbs) != 1 || nbs[0].GetBindIp() != "127.0.0.1" || nbs[0].GetContainerPort() != 8080 || nbs[0].GetHostPort() == 0 {
		t.Fatalf("web reports bindings %v, want 8080 on a host port of 127.0.0.1", nbs)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", nbs[0].GetHostPort())
	waitFor(t, "web answering at "+url, func() bool {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	h.assign(false, stoppedCopy(task))
	h.waitStatus(arn, StatusStopped)
}

// TestDockerAdoptsAfterRestart: a second engine of the same instance finds the first
// one's container by its labels and runs the task on it instead of creating another.
func TestDockerAdoptsAfterRestart(t *testing.T) {
	image := testimage.Image(t)
	instance := testInstanceARN + "-" + dockertest.Name("engine")
	first := startDockerEngineOf(t, instance, image)
	task := testTask(dockertest.Name("task"), "bridge", dockerDef("app", image, "sleep"))
	arn := task.Task.TaskArn
	first.assign(true, task)
	id := containerOf(first.waitStatus(arn, StatusRunning), "app").GetRuntimeId()
	first.stop()

	second := startDockerEngineOf(t, instance, image)
	second.assign(true, task)
	if got := containerOf(second.waitStatus(arn, StatusRunning), "app").GetRuntimeId(); got != id {
		t.Errorf("after the restart app runs as %s, want the adopted %s", got, id)
	}
	second.assign(false, stoppedCopy(task))
	if sc := second.waitStatus(arn, StatusStopped); containerOf(sc, "app").GetRuntimeId() != id {
		t.Errorf("stopped %v, want the adopted container stopped", sc)
	}
}
