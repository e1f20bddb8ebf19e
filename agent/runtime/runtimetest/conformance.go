package runtimetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Run checks h.Runtime against the lifecycle every runtime must have. The cases run in
// parallel with each other.
func Run(t *testing.T, h Harness) {
	cases := []struct {
		name string
		test func(*testing.T, Harness)
	}{
		{"ExitCodeAndDieEvent", testExitCode},
		{"DynamicHostPort", testDynamicHostPort},
		{"OOMKilled", testOOMKilled},
		{"StopKillsAfterTimeout", testStopKills},
		{"StopGraceful", testStopGraceful},
		{"HealthyAndHealthEvent", testHealthy},
		{"Unhealthy", testUnhealthy},
		{"JoinNetwork", testJoinNetwork},
		{"JoinNamespaces", testJoinNamespaces},
		{"ImageDigest", testImageDigest},
		{"Links", testLinks},
		{"ListByLabel", testList},
		{"PullPolicies", testPull},
		{"NotFound", testNotFound},
		{"Logs", testLogs},
		{"LogsFollow", testLogsFollow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, h)
		})
	}
}

// testExitCode: the exit code is read back, and the die event carries it.
func testExitCode(t *testing.T, h Harness) {
	spec := h.spec("exit", "42", "100ms")
	events, _ := h.Runtime.Events(t.Context(), map[string]string{runtime.LabelTaskARN: spec.Owner.TaskARN})
	id := h.run(t, spec)
	ev := nextEvent(t, events, runtime.EventDie)
	if ev.ContainerID != id || ev.ExitCode != 42 || ev.Labels[runtime.LabelTaskARN] != spec.Owner.TaskARN {
		t.Errorf("die event = %+v, want container %s, exit code 42, the task's labels", ev, id)
	}
	if st := h.WaitExited(t, id); st.ExitCode != 42 || st.OOMKilled || st.FinishedAt.IsZero() {
		t.Errorf("state = %+v, want exit code 42, not OOM-killed, a finish time", st)
	}
}

// testDynamicHostPort: HostPort 0 gets a real port, reported in NetworkBindings.
func testDynamicHostPort(t *testing.T, h Harness) {
	spec := h.spec("serve", ":8080")
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 8080}}
	id := h.run(t, spec)
	st := h.waitFor(t, id, "running", func(st runtime.ContainerState) bool {
		return st.Status == runtime.StatusRunning
	})
	if b := HostPort(t, st, 8080); b.HostPort == 0 || b.Protocol != "tcp" {
		t.Errorf("binding = %+v, want a dynamic tcp host port", b)
	}
}

// testOOMKilled: a container past its hard memory limit is OOM-killed.
func testOOMKilled(t *testing.T, h Harness) {
	spec := h.spec("alloc", "100M")
	spec.Memory = 16
	id := h.run(t, spec)
	if st := h.WaitExited(t, id); !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("state = %+v, want OOMKilled with exit code 137", st)
	}
}

// testStopKills: a container that outlasts the stop timeout after SIGTERM is killed.
func testStopKills(t *testing.T, h Harness) {
	id := h.runTrapping(t, "1h")
	if err := h.Runtime.Stop(t.Context(), id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st := h.WaitExited(t, id); st.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137 (SIGKILL after the timeout)", st.ExitCode)
	}
}

// testStopGraceful: a container that exits within the stop timeout keeps its code.
func testStopGraceful(t *testing.T, h Harness) {
	id := h.runTrapping(t, "10ms")
	if err := h.Runtime.Stop(t.Context(), id, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st := h.WaitExited(t, id); st.ExitCode != 0 {
		t.Errorf("exit code = %d, want 0 (exited on SIGTERM by itself)", st.ExitCode)
	}
}

// testHealthy: a passing CMD health check makes the container healthy, with an event.
func testHealthy(t *testing.T, h Harness) {
	spec := h.spec("serve", ":8080")
	spec.HealthCheck = quickCheck("CMD", "/testapp", "health", "http://127.0.0.1:8080/")
	events, _ := h.Runtime.Events(t.Context(), map[string]string{runtime.LabelTaskARN: spec.Owner.TaskARN})
	id := h.run(t, spec)
	if ev := nextEvent(t, events, runtime.EventHealth); ev.Health != runtime.HealthHealthy || ev.ContainerID != id {
		t.Errorf("health event = %+v, want healthy for %s", ev, id)
	}
	h.WaitHealth(t, id, runtime.HealthHealthy)
}

// testUnhealthy: a failing health check makes the container unhealthy.
func testUnhealthy(t *testing.T, h Harness) {
	spec := h.spec("sleep")
	spec.HealthCheck = quickCheck("CMD", "/testapp", "exit", "1")
	id := h.run(t, spec)
	h.WaitHealth(t, id, runtime.HealthUnhealthy)
}

// testJoinNetwork: a container in another's network namespace reaches its port on
// 127.0.0.1, as awsvpc containers reach each other through the pause container. The
// check is a CMD-SHELL one, which also proves those run.
func testJoinNetwork(t *testing.T, h Harness) {
	pause := h.run(t, h.spec("serve", ":8080"))
	spec := h.spec("sleep")
	spec.NetworkMode = runtime.JoinNetwork(pause)
	spec.HealthCheck = quickCheck("CMD-SHELL", "testapp health http://127.0.0.1:8080/")
	id := h.run(t, spec)
	h.WaitHealth(t, id, runtime.HealthHealthy)
}

// testJoinNamespaces: a container joins the PID and IPC namespaces of a running
// container whose IPC namespace is shareable, as pidMode and ipcMode task need;
// joining a container that does not exist fails.
func testJoinNamespaces(t *testing.T, h Harness) {
	holder := h.spec("sleep")
	holder.IpcMode = runtime.NamespaceShareable
	pause := h.run(t, holder)
	spec := h.spec("sleep")
	spec.PidMode, spec.IpcMode = runtime.JoinNamespace(pause), runtime.JoinNamespace(pause)
	id := h.run(t, spec)
	if st, err := h.Runtime.Inspect(t.Context(), id); err != nil || st.Status != runtime.StatusRunning {
		t.Errorf("joined container: %+v, %v; want running", st, err)
	}
	bad := h.spec("sleep")
	bad.PidMode = runtime.JoinNamespace("0123456789ab")
	if id, err := h.Runtime.Create(t.Context(), bad); err == nil {
		if err := h.Runtime.Start(t.Context(), id); err == nil {
			t.Error("a container joined the namespace of a container that does not exist")
		}
		h.Runtime.Remove(t.Context(), id)
	}
}

// testImageDigest: Inspect says which image a container runs, as a digest.
func testImageDigest(t *testing.T, h Harness) {
	id := h.run(t, h.spec("sleep"))
	st, err := h.Runtime.Inspect(t.Context(), id)
	if err != nil || !strings.HasPrefix(st.ImageDigest, "sha256:") {
		t.Errorf("image digest %q, %v; want sha256:...", st.ImageDigest, err)
	}
}

// testLinks: a bridge link makes the linked container reachable by its alias.
func testLinks(t *testing.T, h Harness) {
	web := h.spec("serve", ":8080")
	h.run(t, web)
	spec := h.spec("sleep")
	spec.Links = []string{web.Name + ":web"}
	spec.HealthCheck = quickCheck("CMD", "/testapp", "health", "http://web:8080/")
	id := h.run(t, spec)
	h.WaitHealth(t, id, runtime.HealthHealthy)
}

// testList: containers are found by their berth labels, in any status.
func testList(t *testing.T, h Harness) {
	spec := h.spec("sleep")
	created := h.create(t, spec)
	spec.Name, spec.Owner.ContainerName = uniqueName(), "sidecar"
	running := h.run(t, spec)
	got, err := h.Runtime.List(t.Context(), map[string]string{
		runtime.LabelTaskARN: spec.Owner.TaskARN, runtime.LabelContainerName: "",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{created: "app", running: "sidecar"}
	for _, c := range got {
		if want[c.ID] == c.Labels[runtime.LabelContainerName] {
			delete(want, c.ID)
		}
	}
	if len(got) != 2 || len(want) != 0 {
		t.Errorf("List = %+v, want exactly %s (app) and %s (sidecar)", got, created, running)
	}
}

// testPull: a local image is used under the caching policies; a missing one fails
// with ECS's CannotPullContainerError.
func testPull(t *testing.T, h Harness) {
	for _, p := range []runtime.PullPolicy{runtime.PullPreferCached, runtime.PullOnce} {
		if err := h.Runtime.Pull(t.Context(), h.Image, p); err != nil {
			t.Errorf("Pull(%s, %s) = %v, want the local image", h.Image, p, err)
		}
	}
	err := h.Runtime.Pull(t.Context(), h.MissingImage, runtime.PullDefault)
	if !errors.Is(err, runtime.ErrCannotPull) || !strings.HasPrefix(err.Error(), "CannotPullContainerError: ") {
		t.Errorf("Pull(%s, default) = %v, want a CannotPullContainerError", h.MissingImage, err)
	}
}

// testNotFound: an unknown container is runtime.ErrNotFound.
func testNotFound(t *testing.T, h Harness) {
	const id = "0000000000000000000000000000000000000000000000000000000000000000"
	if _, err := h.Runtime.Inspect(t.Context(), id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect(unknown) = %v, want ErrNotFound", err)
	}
	if err := h.Runtime.Start(t.Context(), id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Start(unknown) = %v, want ErrNotFound", err)
	}
}
