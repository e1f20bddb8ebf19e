package engine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// These tests drive the engine over the hollow runtime: the machine's decisions are
// covered by the scenarios in testdata; here, that assignments, runtime events and
// action outcomes reach it, and its actions reach the runtime.

func def(name string, opts ...func(*berthv1.ContainerDefinition)) *berthv1.ContainerDefinition {
	d := &berthv1.ContainerDefinition{Name: name, Image: "img-" + name, Essential: new(true)}
	for _, o := range opts {
		o(d)
	}
	return d
}

func nonEssential(d *berthv1.ContainerDefinition) { d.Essential = new(false) }

func dependsOn(name, condition string) func(*berthv1.ContainerDefinition) {
	return func(d *berthv1.ContainerDefinition) {
		d.DependsOn = append(d.DependsOn, &berthv1.ContainerDependency{ContainerName: name, Condition: condition})
	}
}

// withHealthCheck gives a container a health check that passes, first probed after
// one second.
func withHealthCheck(d *berthv1.ContainerDefinition) {
	d.HealthCheck = &berthv1.HealthCheck{Command: []string{"CMD", "exit", "0"}, Interval: new(int32(1))}
}

func dynamicPort(port int32) func(*berthv1.ContainerDefinition) {
	return func(d *berthv1.ContainerDefinition) {
		d.PortMappings = append(d.PortMappings, &berthv1.PortMapping{ContainerPort: port, Protocol: "tcp"})
	}
}

func TestEngineRunsTaskAndStopsItInReverseOrder(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{})
	task := testTask("t1", "bridge", def("db", withHealthCheck), def("app", dependsOn("db", condHealthy), dynamicPort(80)))
	arn := task.Task.TaskArn
	h.assign(true, task)

	sc := h.waitStatus(arn, StatusRunning)
	if h.count(arn, createdBeforeHealthy("app", "db")) > 0 {
		t.Errorf("app was created before db was healthy")
	}
	if b := containerOf(sc, "app").GetNetworkBindings(); len(b) != 1 || b[0].GetHostPort() == 0 || b[0].GetContainerPort() != 80 {
		t.Errorf("app networkBindings = %v, want 80 on a dynamic host port", b)
	}
	if sc.GetHealthStatus() != HealthHealthy {
		t.Errorf("task healthStatus = %s, want HEALTHY", sc.GetHealthStatus())
	}

	h.assign(false, stoppedCopy(task))
	sc = h.waitStatus(arn, StatusStopped)
	if sc.GetStopCode() != "UserInitiated" {
		t.Errorf("stopCode = %q, want UserInitiated", sc.GetStopCode())
	}
	waitFor(t, "containers removed", func() bool { return rt.containers(t) == 0 })
	calls := rt.callLog()
	if app, db := slices.Index(calls, "stop app"), slices.Index(calls, "stop db"); app < 0 || db < app {
		t.Errorf("calls %v: app must stop before db, which it depends on", calls)
	}
	want := []string{StatusPending, StatusRunning, StatusStopping, StatusStopped}
	if got := h.statuses(arn); !slices.Equal(got, want) {
		t.Errorf("task went %v, want %v", got, want)
	}
}

// createdBeforeHealthy matches a report in which container has a runtime id while
// dependency is not yet healthy.
func createdBeforeHealthy(container, dependency string) func(*berthv1.TaskStateChange) bool {
	return func(sc *berthv1.TaskStateChange) bool {
		return containerOf(sc, container).GetRuntimeId() != "" && containerOf(sc, dependency).GetHealthStatus() != HealthHealthy
	}
}

// stoppedFirst matches a report in which first has stopped and then still runs.
func stoppedFirst(first, then string) func(*berthv1.TaskStateChange) bool {
	return func(sc *berthv1.TaskStateChange) bool {
		return containerOf(sc, first).GetLastStatus() == StatusStopped && containerOf(sc, then).GetLastStatus() == StatusRunning
	}
}

func TestEngineEssentialExit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		oom    bool
		reason string
	}{
		{name: "exit 42", code: 42},
		{name: "OOM", code: 137, oom: true, reason: OOMReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRecorder(t)
			h := startEngine(t, rt, Options{})
			task := testTask("t1", "bridge", def("web"), def("sidecar", nonEssential))
			h.assign(true, task)
			h.waitStatus(task.Task.TaskArn, StatusRunning)

			kill := func(id string) error { return rt.Exit(id, tc.code) }
			if tc.oom {
				kill = rt.OOMKill
			}
			if err := kill(h.runtimeID(task, "web")); err != nil {
				t.Fatal(err)
			}
			sc := h.waitStatus(task.Task.TaskArn, StatusStopped)
			if sc.GetStopCode() != StopCodeEssentialContainerExited || sc.GetStoppedReason() != EssentialExitReason {
				t.Errorf("stopCode, stoppedReason = %q, %q", sc.GetStopCode(), sc.GetStoppedReason())
			}
			web := containerOf(sc, "web")
			if web.GetExitCode() != int32(tc.code) || web.GetReason() != tc.reason {
				t.Errorf("web exitCode, reason = %d, %q; want %d, %q", web.GetExitCode(), web.GetReason(), tc.code, tc.reason)
			}
		})
	}
}

func TestEngineNonEssentialExitKeepsTask(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{})
	task := testTask("t1", "bridge", def("web"), def("sidecar", nonEssential))
	arn := task.Task.TaskArn
	h.assign(true, task)
	h.waitStatus(arn, StatusRunning)

	if err := rt.Exit(h.runtimeID(task, "sidecar"), 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sidecar stopped", func() bool { return containerOf(h.last(arn), "sidecar").GetLastStatus() == StatusStopped })
	if sc := h.last(arn); sc.GetLastStatus() != StatusRunning || containerOf(sc, "sidecar").GetExitCode() != 3 {
		t.Errorf("after the sidecar exited: task %s, sidecar exit %d; want RUNNING, 3", sc.GetLastStatus(), containerOf(sc, "sidecar").GetExitCode())
	}
}

// TestEnginePullsEachImageOnce: two containers of a task naming one image cause one
// pull of it; another image is pulled on its own.
func TestEnginePullsEachImageOnce(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{})
	shared := func(d *berthv1.ContainerDefinition) { d.Image = "img-shared" }
	task := testTask("t1", "bridge", def("web", shared), def("worker", shared), def("other"))
	h.assign(true, task)
	h.waitStatus(task.Task.TaskArn, StatusRunning)

	pulls := map[string]int{}
	for _, ref := range rt.pullLog() {
		pulls[ref]++
	}
	if want := map[string]int{"img-shared": 1, "img-other": 1}; !maps.Equal(pulls, want) {
		t.Errorf("pulls by image = %v, want %v", pulls, want)
	}
	if n := rt.Counters().Pulls; n != 2 {
		t.Errorf("registry pulls = %d, want 2", n)
	}
}

func TestEnginePullFailure(t *testing.T) {
	rt := newRecorder(t)
	rt.FailPull("img-web")
	h := startEngine(t, rt, Options{})
	task := testTask("t1", "bridge", def("web"))
	h.assign(true, task)

	sc := h.waitStatus(task.Task.TaskArn, StatusStopped)
	if sc.GetStopCode() != StopCodeTaskFailedToStart || !strings.HasPrefix(sc.GetStoppedReason(), "CannotPullContainerError:") {
		t.Errorf("stopCode, stoppedReason = %q, %q", sc.GetStopCode(), sc.GetStoppedReason())
	}
	if rt.containers(t) != 0 {
		t.Errorf("%d containers created for a task whose image cannot be pulled", rt.containers(t))
	}
}

// TestEngineFullSetStopsUnassignedTasks: a full set stops the tasks it leaves out and
// reports the state of those it names again, as reports may have been lost with the
// session it comes on.
func TestEngineFullSetStopsUnassignedTasks(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{})
	a, b := testTask("a", "bridge", def("web")), testTask("b", "bridge", def("web"))
	h.assign(true, a, b)
	h.waitStatus(a.Task.TaskArn, StatusRunning)
	h.waitStatus(b.Task.TaskArn, StatusRunning)

	running := func(sc *berthv1.TaskStateChange) bool { return sc.GetLastStatus() == StatusRunning }
	before := h.count(a.Task.TaskArn, running)
	h.assign(true, a)
	h.waitStatus(b.Task.TaskArn, StatusStopped)
	if h.count(a.Task.TaskArn, running) != before+1 {
		t.Errorf("a full set did not report task a's state afresh")
	}
	waitFor(t, "b's container removed", func() bool { return rt.containers(t) == 1 })
	if got := h.last(a.Task.TaskArn).GetLastStatus(); got != StatusRunning {
		t.Errorf("task a is %s, want RUNNING", got)
	}
}

func TestEngineAWSVPCPauseContainer(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{PauseImage: "pause"})
	task := testTask("t1", NetworkAWSVPC, def("web"), def("app"))
	h.assign(true, task)
	h.waitStatus(task.Task.TaskArn, StatusRunning)
	specs := rt.created()
	var pauseID string
	for id, s := range specs {
		if s.Owner.ContainerName == pauseName {
			pauseID = id
		}
	}
	for _, s := range specs {
		if s.Owner.ContainerName != pauseName && s.NetworkMode != runtime.JoinNetwork(pauseID) {
			t.Errorf("%s has network mode %q, want the pause container's namespace", s.Owner.ContainerName, s.NetworkMode)
		}
	}

	h.assign(false, stoppedCopy(task))
	h.waitStatus(task.Task.TaskArn, StatusStopped)
	waitFor(t, "containers removed", func() bool { return rt.containers(t) == 0 })
	lifecycle := rt.callLog()
	if lifecycle[0] != "create "+pauseName || lifecycle[len(lifecycle)-1] != "remove "+pauseName {
		t.Errorf("calls %v: the pause container must be created first and removed last", lifecycle)
	}
}

// TestEngineAWSVPCPublishesOnLoopback: an awsvpc task's pause container publishes
// every container port of the task on 127.0.0.1 with a dynamic host port (none of a
// container with networking disabled), and each container reports the bindings of
// its own ports.
func TestEngineAWSVPCPublishesOnLoopback(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{PauseImage: "pause"})
	ports := func(ps ...int32) func(*berthv1.ContainerDefinition) {
		return func(d *berthv1.ContainerDefinition) {
			for _, p := range ps {
				d.PortMappings = append(d.PortMappings, &berthv1.PortMapping{ContainerPort: p, HostPort: new(p)})
			}
		}
	}
	offline := func(d *berthv1.ContainerDefinition) { d.DisableNetworking = new(true) }
	task := testTask("t1", NetworkAWSVPC, def("web", ports(8080, 9090)), def("app", ports(3000)), def("side"), def("off", ports(7000), offline))
	arn := task.Task.TaskArn
	h.assign(true, task)
	h.waitStatus(arn, StatusRunning)
	for _, s := range rt.created() {
		if s.Owner.ContainerName != pauseName {
			if len(s.PortMappings) != 0 {
				t.Errorf("%s publishes %v itself, want nothing (its pause container does)", s.Owner.ContainerName, s.PortMappings)
			}
			continue
		}
		want := []runtime.PortMapping{{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"},
			{ContainerPort: 9090, Protocol: "tcp", HostIP: "127.0.0.1"}, {ContainerPort: 3000, Protocol: "tcp", HostIP: "127.0.0.1"}}
		if !slices.Equal(s.PortMappings, want) {
			t.Errorf("the pause container publishes %+v, want %+v", s.PortMappings, want)
		}
	}
	bound := func(c *berthv1.ContainerStateChange) []int32 {
		var out []int32
		for _, nb := range c.GetNetworkBindings() {
			if nb.GetBindIp() != "127.0.0.1" || nb.GetHostPort() == 0 {
				t.Errorf("%s: binding %v, want a host port on 127.0.0.1", c.GetName(), nb)
			}
			out = append(out, nb.GetContainerPort())
		}
		return out
	}
	sc := h.last(arn)
	for name, want := range map[string][]int32{"web": {8080, 9090}, "app": {3000}, "side": nil, "off": nil} {
		if got := bound(containerOf(sc, name)); !slices.Equal(got, want) {
			t.Errorf("%s reports bindings of %v, want %v", name, got, want)
		}
	}
	h.assign(false, stoppedCopy(task))
	sc = h.waitStatus(arn, StatusStopped)
	if nb := containerOf(sc, "web").GetNetworkBindings(); len(nb) != 0 {
		t.Errorf("stopped web reports bindings %v", nb)
	}
}

func TestEngineAdoptsContainersAfterRestart(t *testing.T) {
	rt := newRecorder(t)
	first := startEngine(t, rt, Options{})
	kept := testTask("kept", "bridge", def("db"), def("app", dependsOn("db", condStart)))
	dropped := testTask("dropped", "bridge", def("web"))
	first.assign(true, kept, dropped)
	first.waitStatus(kept.Task.TaskArn, StatusRunning)
	first.waitStatus(dropped.Task.TaskArn, StatusRunning)
	first.stop() // the agent exits; its containers keep running
	stray := runtime.ContainerSpec{Name: "stray", Image: "img-app", Owner: runtime.Owner{
		TaskARN: kept.Task.TaskArn, ContainerName: "app", ContainerInstanceARN: testInstanceARN}}
	if _, err := rt.Runtime.Create(context.Background(), stray); err != nil { // a second "app"
		t.Fatal(err)
	}
	creates := rt.Counters().Creates

	second := startEngine(t, rt, Options{})
	running, err := second.engine.RunningTasks(context.Background())
	slices.Sort(running)
	if want := []string{dropped.Task.TaskArn, kept.Task.TaskArn}; err != nil || !slices.Equal(running, want) {
		t.Fatalf("RunningTasks = %v, %v; want %v", running, err, want)
	}
	second.assign(true, kept)
	sc := second.waitStatus(kept.Task.TaskArn, StatusRunning)
	waitFor(t, "the dropped task's and the stray container removed", func() bool { return rt.containers(t) == 2 })
	if n := rt.Counters().Creates; n != creates {
		t.Errorf("%d containers created after the restart, want none", n-creates)
	}
	for _, c := range sc.GetContainers() {
		if c.GetRuntimeId() == "" || c.GetLastStatus() != StatusRunning {
			t.Errorf("adopted container %s: runtimeId %q, %s", c.GetName(), c.GetRuntimeId(), c.GetLastStatus())
		}
	}
	if second.last(dropped.Task.TaskArn) != nil {
		t.Errorf("the engine reported a task the control plane did not assign it")
	}
}

// TestEngineRunOwnsItsWorkers: when Run's context ends, Run returns with every worker
// ended, even one waiting out the removal delay, and leaves the containers as they are;
// Assign then reports the engine stopped.
func TestEngineRunOwnsItsWorkers(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{RemoveDelay: time.Hour})
	exits, runs := testTask("exits", "bridge", def("web")), testTask("runs", "bridge", def("web"))
	h.assign(true, exits, runs)
	h.waitStatus(runs.Task.TaskArn, StatusRunning)
	h.waitStatus(exits.Task.TaskArn, StatusRunning)
	if err := rt.Exit(h.runtimeID(exits, "web"), 0); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(exits.Task.TaskArn, StatusStopped)

	h.stop() // goleak, in TestMain, checks that no worker outlived Run
	if n := rt.containers(t); n != 2 {
		t.Errorf("%d containers left after Run returned, want both tasks' 2", n)
	}
	err := h.engine.Assign(context.Background(), &berthv1.Assignments{Full: true})
	if !errors.Is(err, ErrStopped) {
		t.Errorf("Assign after Run returned: %v, want ErrStopped", err)
	}
}

// TestEngineReportsTaskAssignedStoppedAsStopped: a task the agent never had (or
// whose containers are gone with an agent that died before its STOPPED report was
// acknowledged), assigned as STOPPED, is reported STOPPED with the control plane's
// stop code and reason, and nothing is created; without the report the control
// plane keeps it stopping for ever, and its service short of its desiredCount.
func TestEngineReportsTaskAssignedStoppedAsStopped(t *testing.T) {
	rt := newRecorder(t)
	h := startEngine(t, rt, Options{})
	never := stoppedCopy(testTask("never", "bridge", def("web")))
	never.Task.StoppedReason = "Scaling activity initiated by (deployment ecs-svc/1)"
	h.assign(true, never)
	sc := h.waitStatus(never.Task.TaskArn, StatusStopped)
	if sc.GetStopCode() != "UserInitiated" || sc.GetStoppedReason() != never.Task.StoppedReason {
		t.Errorf("stopCode %q, stoppedReason %q; want the assignment's", sc.GetStopCode(), sc.GetStoppedReason())
	}
	if got := h.statuses(never.Task.TaskArn); !slices.Equal(got, []string{StatusStopped}) {
		t.Errorf("task went %v, want STOPPED only", got)
	}
	if n := rt.Counters().Creates; n != 0 {
		t.Errorf("%d containers created for a task assigned as STOPPED", n)
	}
}
