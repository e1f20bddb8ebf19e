package hollow_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/agent/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const image = "berth-test/app:hollow"

// newRuntime returns a hollow runtime with the test image present, closed when t ends.
func newRuntime(t *testing.T, cfg hollow.Config) *hollow.Runtime {
	cfg.Images = append(cfg.Images, image)
	rt := hollow.New(cfg)
	t.Cleanup(rt.Close)
	return rt
}

// TestConformance runs the lifecycle every runtime must have against hollow containers.
func TestConformance(t *testing.T) {
	rt := newRuntime(t, hollow.Config{})
	rt.FailPull("berth-test/app:missing")
	runtimetest.Run(t, runtimetest.Harness{Runtime: rt, Image: image, MissingImage: "berth-test/app:missing"})
}

// run creates and starts spec's container (over the test image by default), or fails t.
func run(t *testing.T, rt *hollow.Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	if spec.Image == "" {
		spec.Image = image
	}
	id, err := rt.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

func inspect(t *testing.T, rt *hollow.Runtime, id string) runtime.ContainerState {
	t.Helper()
	st, err := rt.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func serving(port int) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Command:      []string{"serve", ":8080"},
		PortMappings: []runtime.PortMapping{{ContainerPort: 8080, HostPort: port}},
	}
}

// TestDynamicPortsDoNotConflict proves dynamic host ports are distinct, run out at the
// end of the range, and come back when a container exits.
func TestDynamicPortsDoNotConflict(t *testing.T) {
	rt := newRuntime(t, hollow.Config{PortRange: [2]int{40000, 40002}})
	seen := map[int]string{}
	var ids []string
	for range 3 {
		id := run(t, rt, serving(0))
		port := inspect(t, rt, id).NetworkBindings[0].HostPort
		if port < 40000 || port > 40002 || seen[port] != "" {
			t.Fatalf("host port %d: out of range or already bound to %s", port, seen[port])
		}
		seen[port] = id
		ids = append(ids, id)
	}
	full, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: image, PortMappings: serving(0).PortMappings})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), full); err == nil {
		t.Fatal("Start with the port range exhausted succeeded")
	}
	if err := rt.Stop(t.Context(), ids[1], time.Second); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), full); err != nil {
		t.Fatalf("Start after a port was released: %v", err)
	}
}

// TestFixedHostPortConflict proves a fixed host port binds once, as in Docker.
func TestFixedHostPortConflict(t *testing.T) {
	rt := newRuntime(t, hollow.Config{})
	run(t, rt, serving(8080))
	id, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: image, PortMappings: serving(8080).PortMappings})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), id); err == nil {
		t.Fatal("second container bound host port 8080 too")
	}
	if st := inspect(t, rt, id); st.Status != runtime.StatusCreated {
		t.Errorf("status after failed start = %s, want created", st.Status)
	}
}

// TestCreateRefusesWhatDockerRefuses: missing image, duplicate name, dangling link;
// and Start refuses to join a network of a container not running.
func TestCreateRefusesWhatDockerRefuses(t *testing.T) {
	rt := newRuntime(t, hollow.Config{})
	run(t, rt, runtime.ContainerSpec{Name: "web"})
	bad := []runtime.ContainerSpec{
		{Image: "berth-test/app:never-pulled"},
		{Image: image, Name: "web"},
		{Image: image, Links: []string{"db:db"}},
	}
	for _, spec := range bad {
		if _, err := rt.Create(t.Context(), spec); err == nil {
			t.Errorf("Create(%+v) succeeded", spec)
		}
	}
	pause, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: image})
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: image, NetworkMode: runtime.JoinNetwork(pause)})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), id); err == nil {
		t.Error("joined the network of a container that is not running")
	}
}

// TestFaults proves the injected failures and the counters.
func TestFaults(t *testing.T) {
	rt := newRuntime(t, hollow.Config{})
	boom := errors.New("boom")
	rt.FailNext(hollow.OpStart, boom)
	id, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: image})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), id); !errors.Is(err, boom) {
		t.Fatalf("first Start = %v, want the injected error", err)
	}
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatalf("second Start = %v, want nil (a fault fires once)", err)
	}
	if err := rt.OOMKill(id); err != nil {
		t.Fatal(err)
	}
	if st := inspect(t, rt, id); !st.OOMKilled || st.ExitCode != 137 {
		t.Errorf("after OOMKill: %+v", st)
	}
	rt.FailNext(hollow.OpPull, boom)
	if err := rt.Pull(t.Context(), "other", runtime.PullAlways); !errors.Is(err, runtime.ErrCannotPull) || !errors.Is(err, boom) {
		t.Errorf("Pull with injected fault = %v, want CannotPull wrapping it", err)
	}
	want := hollow.Counters{Pulls: 1, Creates: 1, Starts: 2, Inspects: 1}
	if got := rt.Counters(); got != want {
		t.Errorf("Counters = %+v, want %+v", got, want)
	}
}

// TestExitAndSetHealthPublishEvents proves the scenario hooks reach Inspect and Events.
func TestExitAndSetHealthPublishEvents(t *testing.T) {
	rt := newRuntime(t, hollow.Config{})
	owner := runtime.Owner{TaskARN: "task/1"}
	events, _ := rt.Events(t.Context(), map[string]string{runtime.LabelTaskARN: "task/1"})
	id := run(t, rt, runtime.ContainerSpec{Owner: owner, HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", "true"}, Interval: time.Hour}})
	if err := rt.SetHealth(id, runtime.HealthUnhealthy); err != nil {
		t.Fatal(err)
	}
	if err := rt.Exit(id, 3); err != nil {
		t.Fatal(err)
	}
	want := []string{"start", "health unhealthy", "die 3"}
	for _, w := range want {
		var ev runtime.Event
		select {
		case ev = <-events:
		case <-time.After(time.Minute):
			t.Fatalf("no event; want %q", w)
		}
		got := string(ev.Type)
		switch ev.Type {
		case runtime.EventHealth:
			got += " " + string(ev.Health)
		case runtime.EventDie:
			got += fmt.Sprint(" ", ev.ExitCode)
		}
		if got != w || ev.ContainerID != id {
			t.Errorf("event = %q for %s, want %q for %s", got, ev.ContainerID, w, id)
		}
	}
}

// TestPullUsesCacheAndLatency proves the caching policies skip the registry, and that
// the simulated registry is slow as configured without blocking past ctx.
func TestPullUsesCacheAndLatency(t *testing.T) {
	rt := newRuntime(t, hollow.Config{PullLatency: time.Hour})
	for _, p := range []runtime.PullPolicy{runtime.PullOnce, runtime.PullPreferCached} {
		if err := rt.Pull(t.Context(), image, p); err != nil {
			t.Errorf("Pull(cached, %s) = %v", p, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := rt.Pull(ctx, "new", runtime.PullDefault); !errors.Is(err, context.Canceled) {
		t.Errorf("Pull with cancelled ctx = %v, want context.Canceled", err)
	}
	if n := rt.Counters().Pulls; n != 1 {
		t.Errorf("registry pulls = %d, want 1", n)
	}
}

// TestManyInstances proves the hollow runtime is cheap enough for a thousand container
// instances with tens of containers each in one process: no goroutine per container.
func TestManyInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test")
	}
	const instances, perInstance = 1000, 20
	before := goruntime.NumGoroutine()
	for i := range instances {
		rt := newRuntime(t, hollow.Config{})
		for range perInstance {
			id := run(t, rt, serving(0))
			if st := inspect(t, rt, id); st.Status != runtime.StatusRunning {
				t.Fatalf("instance %d: %+v", i, st)
			}
		}
	}
	if after := goruntime.NumGoroutine(); after > before+10 {
		t.Errorf("goroutines grew from %d to %d for %d containers", before, after, instances*perInstance)
	}
}

// TestPullBehaviors runs each ECS_IMAGE_PULL_BEHAVIOR against a cached image
// whose registry copy is gone: default falls back to the cache after trying
// the registry, always fails, once and prefer-cached never ask the registry;
// a missing image is pulled under every policy.
func TestPullBehaviors(t *testing.T) {
	for _, c := range []struct {
		p     runtime.PullPolicy
		fails bool
		pulls int64
	}{
		{runtime.PullDefault, false, 1},
		{runtime.PullAlways, true, 1},
		{runtime.PullOnce, false, 0},
		{runtime.PullPreferCached, false, 0},
	} {
		rt := newRuntime(t, hollow.Config{})
		rt.FailPull(image)
		err := rt.Pull(t.Context(), image, c.p)
		if (err != nil) != c.fails || (err != nil && !errors.Is(err, runtime.ErrCannotPull)) {
			t.Errorf("Pull(cached, gone from the registry, %s) = %v, want failure %v", c.p, err, c.fails)
		}
		if n := rt.Counters().Pulls; n != c.pulls {
			t.Errorf("%s: registry pulls = %d, want %d", c.p, n, c.pulls)
		}
		if err := rt.Pull(t.Context(), "missing:1", c.p); err != nil {
			t.Errorf("Pull(missing, %s) = %v", c.p, err)
		}
		if n := rt.Counters().Pulls; n != c.pulls+1 {
			t.Errorf("%s: a missing image was not pulled (registry pulls %d)", c.p, n)
		}
	}
}
