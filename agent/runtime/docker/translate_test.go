package docker

import (
	"fmt"
	"maps"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"

	"github.com/berth/berth/agent/runtime"
)

func TestEventTranslation(t *testing.T) {
	attrs := map[string]string{"exitCode": "42", "name": "web", "berth.task-arn": "task/1"}
	tests := []struct {
		action events.Action
		want   runtime.Event
		ok     bool
	}{
		{"die", runtime.Event{Type: runtime.EventDie, ExitCode: 42}, true},
		{"health_status: unhealthy", runtime.Event{Type: runtime.EventHealth, Health: runtime.HealthUnhealthy}, true},
		{"oom", runtime.Event{Type: runtime.EventOOM}, true},
		{"exec_start: /testapp health", runtime.Event{}, false},
	}
	for _, tt := range tests {
		got, ok := event(events.Message{Action: tt.action, Actor: events.Actor{ID: "c1", Attributes: attrs}})
		if ok != tt.ok {
			t.Errorf("event(%q) ok = %v, want %v", tt.action, ok, tt.ok)
		}
		if !ok {
			continue
		}
		if got.Type != tt.want.Type || got.ExitCode != tt.want.ExitCode || got.Health != tt.want.Health ||
			got.ContainerID != "c1" || !maps.Equal(got.Labels, map[string]string{"berth.task-arn": "task/1"}) {
			t.Errorf("event(%q) = %+v, want %+v with id c1 and only berth labels", tt.action, got, tt.want)
		}
	}
}

func TestStatusFolding(t *testing.T) {
	for in, want := range map[container.ContainerState]runtime.Status{
		container.StateCreated: runtime.StatusCreated, container.StateRunning: runtime.StatusRunning,
		container.StatePaused: runtime.StatusRunning, container.StateRestarting: runtime.StatusRunning,
		container.StateExited: runtime.StatusExited, container.StateDead: runtime.StatusExited,
		container.StateRemoving: runtime.StatusExited,
	} {
		if got := status(in); got != want {
			t.Errorf("status(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestPortsDynamicAndBack proves HostPort 0 asks Docker for a dynamic port, and that
// bound ports are read back in a stable order.
func TestPortsDynamicAndBack(t *testing.T) {
	_, bindings, err := ports([]runtime.PortMapping{{ContainerPort: 8080}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := bindings["8080/tcp"][0].HostPort; got != "" {
		t.Errorf("dynamic host port = %q, want \"\"", got)
	}
	if got := bindings["53/udp"][0].HostPort; got != "5353" {
		t.Errorf("fixed host port = %q, want 5353", got)
	}
	got := bindings2(nat.PortMap{
		"8080/tcp": {{HostIP: "::", HostPort: "49154"}, {HostIP: "0.0.0.0", HostPort: "49154"}},
		"53/udp":   {{HostIP: "0.0.0.0", HostPort: "5353"}},
	})
	want := "53/udp@0.0.0.0:5353 8080/tcp@0.0.0.0:49154 8080/tcp@:::49154 "
	if got != want {
		t.Errorf("bindings = %q, want %q", got, want)
	}
}

func bindings2(m nat.PortMap) string {
	var s string
	for _, b := range bindings(m) {
		s += fmt.Sprintf("%d/%s@%s:%d ", b.ContainerPort, b.Protocol, b.BindIP, b.HostPort)
	}
	return s
}

// TestCPUSharesMinimum: ECS's test task definitions give cpu 1, which the kernel
// refuses as CPU shares; it becomes the least it takes, and 0 stays Docker's default.
func TestCPUSharesMinimum(t *testing.T) {
	for cpu, want := range map[int64]int64{0: 0, 1: 2, 2: 2, 256: 256} {
		if got := cpuShares(cpu); got != want {
			t.Errorf("cpuShares(%d) = %d, want %d", cpu, got, want)
		}
	}
}

// TestMountsAsBinds proves mounts become Docker binds, read-only ones with ":ro", and
// that a path Docker's bind syntax cannot carry is refused rather than mangled.
func TestMountsAsBinds(t *testing.T) {
	got, err := binds([]runtime.Mount{{Source: "/var/lib/v", Target: "/data"}, {Source: "/etc/x", Target: "/x", ReadOnly: true}})
	if err != nil || fmt.Sprint(got) != "[/var/lib/v:/data /etc/x:/x:ro]" {
		t.Errorf("binds = %q, %v", got, err)
	}
	for _, bad := range []runtime.Mount{{Source: "rel", Target: "/data"}, {Source: "/a:b", Target: "/data"}, {Source: "/a", Target: "data"}} {
		if _, err := binds([]runtime.Mount{bad}); err == nil {
			t.Errorf("binds(%+v) gave no error", bad)
		}
	}
}
