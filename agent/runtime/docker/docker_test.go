package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/runtime/runtimetest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// testSpec is a spec over the test image, labelled for sweeping.
func testSpec(t *testing.T, args ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:         dockertest.Name("rt"),
		Image:        testimage.Image(t),
		Command:      args,
		DockerLabels: dockertest.Labels(nil),
		Owner:        runtime.Owner{TaskARN: "task/" + dockertest.Name("task"), ContainerName: "app"},
	}
}

// start creates and starts spec's container and removes it when t ends.
func start(t *testing.T, h runtimetest.Harness, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := h.Runtime.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveContainerOnCleanup(t, dockertest.Client(t), id)
	if err := h.Runtime.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestHostPortAnswersHTTP proves the dynamic host port Inspect reports is the one
// Docker bound: the test program answers on it from the host's loopback.
func TestHostPortAnswersHTTP(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "serve", ":8080")
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 8080}}
	id := start(t, h, spec)
	st, err := h.Runtime.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", runtimetest.HostPort(t, st, 8080).HostPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := get(t.Context(), url)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLoopbackHostPort proves a port published with HostIP 127.0.0.1 is bound there
// only (Inspect reports the address) and answers from the host's loopback, as an
// awsvpc task's pause container publishes its containers' ports.
func TestLoopbackHostPort(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "serve", ":8080")
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 8080, HostIP: "127.0.0.1"}}
	id := start(t, h, spec)
	st, err := h.Runtime.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.NetworkBindings) != 1 || st.NetworkBindings[0].BindIP != "127.0.0.1" || st.NetworkBindings[0].HostPort == 0 {
		t.Fatalf("bindings = %+v, want one dynamic port on 127.0.0.1", st.NetworkBindings)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", st.NetworkBindings[0].HostPort)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := get(t.Context(), url)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
}

func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("%s %q", resp.Status, body)
	}
	return nil
}

// TestStopSendsSIGTERMFirst proves Stop signals SIGTERM before the SIGKILL that ends a
// container outlasting the timeout: the program logged receiving it.
func TestStopSendsSIGTERMFirst(t *testing.T) {
	h := newHarness(t)
	id := start(t, h, testSpec(t, "trap-sigterm", "1h"))
	waitLog(t, id, "waiting for SIGTERM")
	if err := h.Runtime.Stop(t.Context(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	if st := h.WaitExited(t, id); st.ExitCode != 137 || st.OOMKilled {
		t.Errorf("exit code = %d, OOMKilled %t; want 137 and no OOM", st.ExitCode, st.OOMKilled)
	}
	waitLog(t, id, "SIGTERM received")
}

// TestOOMEventFromTheDaemonsLog proves the fallback Inspect takes when Docker's exit
// status says nothing of an OOM kill (its notification came after the exit): the
// daemon's event log has the OOM of a container past its memory limit and none for a
// container killed by a signal.
func TestOOMEventFromTheDaemonsLog(t *testing.T) {
	h := newHarness(t)
	rt := h.Runtime.(*docker.Runtime)

	spec := testSpec(t, "alloc", "100M")
	spec.Memory = 16
	oom := h.WaitExited(t, start(t, h, spec))
	if !rt.OOMEvent(t.Context(), oom.ID, oom.StartedAt, oom.FinishedAt) {
		t.Errorf("no oom event logged for %s (%+v)", oom.ID, oom)
	}

	id := start(t, h, testSpec(t, "trap-sigterm", "1h"))
	waitLog(t, id, "waiting for SIGTERM")
	if err := h.Runtime.Stop(t.Context(), id, 0); err != nil {
		t.Fatal(err)
	}
	killed := h.WaitExited(t, id)
	if killed.ExitCode != 137 {
		t.Fatalf("exit code = %d, want 137", killed.ExitCode)
	}
	if rt.OOMEvent(t.Context(), killed.ID, killed.StartedAt, killed.FinishedAt) {
		t.Errorf("oom event found for %s, which was killed by a signal", killed.ID)
	}
}

// waitLog waits for the container's output to contain want.
func waitLog(t *testing.T, id, want string) {
	t.Helper()
	cli := dockertest.Client(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, err := cli.ContainerLogs(t.Context(), id, container.LogsOptions{ShowStdout: true})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(logs)
		logs.Close()
		if strings.Contains(string(out), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of %s lacks %q: %q", id, want, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCreateTranslatesSpec proves the spec reaches Docker's config: berth labels over
// dockerLabels, resources in Docker's units, no swap, ulimits, init, stop timeout.
func TestCreateTranslatesSpec(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "sleep")
	spec.DockerLabels = dockertest.Labels(map[string]string{"team": "web", runtime.LabelTaskARN: "forged"})
	spec.Environment = map[string]string{"B": "2", "A": "1"}
	spec.WorkingDirectory, spec.User = "/tmp", "1000:1000"
	spec.CPU, spec.Memory, spec.MemoryReservation = 256, 64, 32
	spec.Ulimits = []runtime.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 2048}}
	spec.InitProcessEnabled, spec.StopTimeout = true, 1500*time.Millisecond
	id, err := h.Runtime.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveContainerOnCleanup(t, dockertest.Client(t), id)
	got, err := dockertest.Client(t).ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, hc := got.Config, got.HostConfig
	checks := []struct {
		what      string
		got, want any
	}{
		{"task label", c.Labels[runtime.LabelTaskARN], spec.Owner.TaskARN},
		{"docker label", c.Labels["team"], "web"},
		{"env", strings.Join(c.Env[:2], ","), "A=1,B=2"}, // then Docker's PATH
		{"workdir/user", c.WorkingDir + " " + c.User, "/tmp 1000:1000"},
		{"stop timeout", *c.StopTimeout, 2},
		{"cpu shares", hc.CPUShares, int64(256)},
		{"memory", hc.Memory, int64(64 << 20)},
		{"memory+swap", hc.MemorySwap, int64(64 << 20)},
		{"reservation", hc.MemoryReservation, int64(32 << 20)},
		{"ulimit", fmt.Sprint(*hc.Ulimits[0]), fmt.Sprint(container.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048})},
		{"init", *hc.Init, true},
		{"network mode", string(hc.NetworkMode), runtime.NetworkBridge},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

// TestEventsEndWithContext proves the event stream's goroutine ends with its context
// and says why.
func TestEventsEndWithContext(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	events, errs := h.Runtime.Events(ctx, map[string]string{runtime.LabelTaskARN: "none"})
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("stream error = %v, want context.Canceled", err)
	}
	if _, open := <-events; open {
		t.Error("event channel still open after the stream ended")
	}
}

// TestOfflinePullNeverReachesRegistry proves an offline runtime fails a missing image
// under every policy, at once, with ECS's reason.
func TestOfflinePullNeverReachesRegistry(t *testing.T) {
	h := newHarness(t)
	for _, p := range []runtime.PullPolicy{runtime.PullDefault, runtime.PullAlways, runtime.PullOnce, runtime.PullPreferCached} {
		err := h.Runtime.Pull(t.Context(), h.MissingImage, p)
		if !errors.Is(err, runtime.ErrCannotPull) {
			t.Errorf("Pull(missing, %s) = %v, want ErrCannotPull", p, err)
		}
		if err := h.Runtime.Pull(t.Context(), h.Image, p); err != nil {
			t.Errorf("Pull(local, %s) = %v, want nil", p, err)
		}
	}
}
