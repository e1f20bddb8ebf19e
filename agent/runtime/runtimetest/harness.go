// Package runtimetest holds the lifecycle expectations every runtime.Runtime meets,
// run against runtime/docker (real containers) and runtime/hollow (simulated ones) by
// their tests. The containers run berth's test program (internal/testimage/testapp),
// whose commands both runtimes understand.
package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Harness is a runtime under test and what the expectations need from it.
type Harness struct {
	Runtime runtime.Runtime
	// Image is present locally and runs testapp with its arguments as the command.
	Image string
	// MissingImage can be had neither locally nor from a registry.
	MissingImage string
	// Labels are added to every container, e.g. to mark them for sweeping.
	Labels map[string]string
}

// timeout bounds every wait; a container that takes longer is a failure.
const timeout = 60 * time.Second

// spec returns a ContainerSpec running testapp with args, owned by a task of its own.
func (h Harness) spec(args ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:         uniqueName(),
		Image:        h.Image,
		Command:      args,
		DockerLabels: h.Labels,
		Owner: runtime.Owner{
			TaskARN:              "arn:aws:ecs:us-east-1:000000000000:task/conformance/" + token(),
			ContainerName:        "app",
			Cluster:              "conformance",
			ContainerInstanceARN: "arn:aws:ecs:us-east-1:000000000000:container-instance/conformance/1",
		},
	}
}

// create creates spec's container and removes it when t ends.
func (h Harness) create(t *testing.T, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := h.Runtime.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create(%+v): %v", spec, err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := h.Runtime.Remove(c, id); err != nil {
			t.Errorf("Remove(%s): %v", id, err)
		}
	})
	return id
}

// run creates and starts spec's container.
func (h Harness) run(t *testing.T, spec runtime.ContainerSpec) string {
	t.Helper()
	id := h.create(t, spec)
	if err := h.Runtime.Start(t.Context(), id); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	return id
}

// waitFor polls the container until cond holds, and returns that state.
func (h Harness) waitFor(t *testing.T, id, what string, cond func(runtime.ContainerState) bool) runtime.ContainerState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := h.Runtime.Inspect(t.Context(), id)
		if err != nil {
			t.Fatalf("Inspect(%s): %v", id, err)
		}
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s not %s after %v: %+v", id, what, timeout, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitExited waits for container id to exit and returns its state.
func (h Harness) WaitExited(t *testing.T, id string) runtime.ContainerState {
	return h.waitFor(t, id, "exited", func(st runtime.ContainerState) bool {
		return st.Status == runtime.StatusExited
	})
}

// WaitHealth waits for container id's health to become want.
func (h Harness) WaitHealth(t *testing.T, id string, want runtime.HealthStatus) runtime.ContainerState {
	return h.waitFor(t, id, string(want), func(st runtime.ContainerState) bool {
		return st.Health == want
	})
}

func uniqueName() string { return "berth-test-" + token() }

func token() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
