package engine

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
)

// recorder is a hollow runtime that logs the lifecycle calls the engine makes, by
// container definition name ("create db", "stop app"), so tests can check their order.
type recorder struct {
	*hollow.Runtime
	mu    sync.Mutex
	names map[string]string                // runtime id -> container name
	specs map[string]runtime.ContainerSpec // runtime id -> spec created
	calls []string
	pulls []string // images, in the order Pull was called
}

// newRecorder returns a hollow runtime for t, closed when t ends.
func newRecorder(t *testing.T) *recorder {
	rt := hollow.New(hollow.Config{})
	t.Cleanup(rt.Close)
	return &recorder{Runtime: rt, names: map[string]string{}, specs: map[string]runtime.ContainerSpec{}}
}

func (r *recorder) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	id, err := r.Runtime.Create(ctx, spec)
	if err == nil {
		r.mu.Lock()
		r.names[id], r.specs[id] = spec.Owner.ContainerName, spec
		r.mu.Unlock()
		r.record("create", id)
	}
	return id, err
}

func (r *recorder) Pull(ctx context.Context, ref string, policy runtime.PullPolicy) error {
	r.mu.Lock()
	r.pulls = append(r.pulls, ref)
	r.mu.Unlock()
	return r.Runtime.Pull(ctx, ref, policy)
}

func (r *recorder) Stop(ctx context.Context, id string, timeout time.Duration) error {
	r.record("stop", id)
	return r.Runtime.Stop(ctx, id, timeout)
}

func (r *recorder) Remove(ctx context.Context, id string) error {
	r.record("remove", id)
	return r.Runtime.Remove(ctx, id)
}

func (r *recorder) record(call, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call+" "+r.names[id])
}

// created is the specs of the containers created so far, by runtime id.
func (r *recorder) created() map[string]runtime.ContainerSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.specs)
}

// pullLog is the images Pull was called for so far.
func (r *recorder) pullLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.pulls...)
}

// callLog is the calls made so far.
func (r *recorder) callLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// containers is how many containers the runtime holds.
func (r *recorder) containers(t *testing.T) int {
	t.Helper()
	cs, err := r.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}
