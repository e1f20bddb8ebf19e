package engine

import (
	"context"
	"slices"
	"sync"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// recordingEndpoint records the engine's calls of its TaskEndpoint.
type recordingEndpoint struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingEndpoint) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordingEndpoint) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recordingEndpoint) Environment(_ *berthv1.TaskAssignment, c string) map[string]string {
	r.add("environment " + c)
	return map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:1/v4/" + c}
}

func (r *recordingEndpoint) ContainerStarted(_ context.Context, _, c string, s runtime.ContainerState) error {
	r.add("started " + c)
	return nil
}

func (r *recordingEndpoint) TaskChanged(_ *berthv1.TaskAssignment, sc *berthv1.TaskStateChange) {
	r.add("changed " + sc.GetLastStatus())
}

func (r *recordingEndpoint) TaskGone(string) { r.add("gone") }

// TestEngineTellsTheTaskEndpoint: the endpoint gives each container its
// variables, hears of each container once it runs (an awsvpc task's pause
// container before any other starts), of each change, and of the task's end.
func TestEngineTellsTheTaskEndpoint(t *testing.T) {
	rt := newRecorder(t)
	ep := &recordingEndpoint{}
	h := startEngine(t, rt, Options{TaskEndpoint: ep, PauseImage: "pause"})
	task := testTask("t1", "awsvpc", def("app"))
	arn := task.Task.TaskArn
	h.assign(true, task)
	h.waitStatus(arn, StatusRunning)
	h.assign(false, stoppedCopy(task))
	h.waitStatus(arn, StatusStopped)
	waitFor(t, "containers removed", func() bool { return rt.containers(t) == 0 })
	h.assign(true) // the control plane no longer assigns it
	waitFor(t, "the task forgotten", func() bool { return slices.Contains(ep.log(), "gone") })

	calls := ep.log()
	pos := func(s string) int { return slices.Index(calls, s) }
	if pos("environment app") < 0 || pos("started "+pauseName) < 0 || pos("started app") < pos("started "+pauseName) ||
		pos("changed RUNNING") < pos("started app") || pos("changed STOPPED") < 0 || pos("gone") < pos("changed STOPPED") {
		t.Errorf("endpoint calls: %v", calls)
	}
	for _, s := range rt.created() {
		if s.Owner.ContainerName == "app" && s.Environment["ECS_CONTAINER_METADATA_URI_V4"] != "http://127.0.0.1:1/v4/app" {
			t.Errorf("app environment: %v", s.Environment)
		}
	}
}
