package engine

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/internal/dockertest"
)

// TestDockerTaskSettings runs a task with pidMode and ipcMode task, an awslogs
// container and a non-essential container whose image cannot be had, on Docker:
// the task runs without the failed container, its containers are in the pause
// container's PID and IPC namespaces, awslogs output stays on the agent as
// json-file, and every running container reports its image digest.
func TestDockerTaskSettings(t *testing.T) {
	h, image := startDockerEngine(t)
	app := dockerDef("app", image, "sleep")
	app.LogConfiguration = &berthv1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}}
	app.Hostname = "app.berth"
	side := dockerDef("side", image, "sleep")
	missing := dockerDef("missing", "berth-test/absent:"+dockertest.Name("tag"))
	missing.Essential = new(false)
	task := testTask(dockertest.Name("task"), "bridge", app, side, missing)
	task.TaskDefinition.PidMode, task.TaskDefinition.IpcMode = "task", "task"
	arn := task.Task.TaskArn
	h.assign(true, task)

	sc := h.waitStatus(arn, StatusRunning)
	if c := containerOf(sc, "missing"); c.GetLastStatus() != StatusStopped || !strings.HasPrefix(c.GetReason(), "CannotPullContainerError") {
		t.Errorf("missing: %s %q; want STOPPED with CannotPullContainerError", c.GetLastStatus(), c.GetReason())
	}
	cli := dockertest.Client(t)
	var pauseID string
	for _, name := range []string{"app", "side"} {
		c := containerOf(sc, name)
		if !strings.HasPrefix(c.GetImageDigest(), "sha256:") {
			t.Errorf("%s: imageDigest %q, want sha256:...", name, c.GetImageDigest())
		}
		got, err := cli.ContainerInspect(t.Context(), c.GetRuntimeId())
		if err != nil {
			t.Fatal(err)
		}
		pid, ipc := string(got.HostConfig.PidMode), string(got.HostConfig.IpcMode)
		if pauseID == "" {
			pauseID = strings.TrimPrefix(pid, "container:")
		}
		if !strings.HasPrefix(pid, "container:") || pid != ipc || pid != "container:"+pauseID {
			t.Errorf("%s: pid %q, ipc %q; want both the pause container's", name, pid, ipc)
		}
		if name == "app" && (got.HostConfig.LogConfig.Type != "json-file" || got.Config.Hostname != "app.berth") {
			t.Errorf("app: log driver %q, hostname %q; want json-file, app.berth", got.HostConfig.LogConfig.Type, got.Config.Hostname)
		}
	}
	h.assign(false, stoppedCopy(task))
	h.waitStatus(arn, StatusStopped)
}
