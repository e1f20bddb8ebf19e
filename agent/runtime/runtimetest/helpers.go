package runtimetest

import (
	"testing"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// quickCheck is a health check that decides within a second or so.
func quickCheck(test ...string) *runtime.HealthCheck {
	return &runtime.HealthCheck{
		Command:  test,
		Interval: 200 * time.Millisecond,
		Timeout:  5 * time.Second,
		Retries:  2,
	}
}

// nextEvent returns the next event of type typ, skipping others.
func nextEvent(t *testing.T, events <-chan runtime.Event, typ runtime.EventType) runtime.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended before a %s event", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event after %v", typ, timeout)
		}
	}
}

// HostPort returns the binding of containerPort in st, failing t if there is none.
func HostPort(t *testing.T, st runtime.ContainerState, containerPort int) runtime.NetworkBinding {
	t.Helper()
	for _, b := range st.NetworkBindings {
		if b.ContainerPort == containerPort {
			return b
		}
	}
	t.Fatalf("no binding for container port %d in %+v", containerPort, st.NetworkBindings)
	return runtime.NetworkBinding{}
}

// runTrapping runs "trap-sigterm grace" and waits until SIGTERM is trapped, which its
// health check tells: stopped sooner, the program would die of the signal.
func (h Harness) runTrapping(t *testing.T, grace string) string {
	spec := h.spec("trap-sigterm", grace)
	spec.HealthCheck = quickCheck("CMD", "/testapp", "exists", "/tmp/sigterm-trapped")
	id := h.run(t, spec)
	h.WaitHealth(t, id, runtime.HealthHealthy)
	return id
}
