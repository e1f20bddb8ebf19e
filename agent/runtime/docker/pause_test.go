package docker_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/berth/berth/agent/pause"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/internal/dockertest"
)

// An offline runtime makes its pause image when it is absent (a Pull, even one that
// insists on the registry, loads it; concurrent ones load it once), and a container
// of it runs until `docker stop`, which ends it at once with status 0: its PID 1
// waits for SIGTERM rather than leaving Docker to SIGKILL it after the timeout.
func TestPauseImageIsMadeAndStopsCleanly(t *testing.T) {
	cli := dockertest.Client(t)
	ref := pauseRef(t, cli)
	rt, err := docker.NewWithClient(t.Context(), cli, docker.Options{Offline: true, PauseImage: ref, PauseImageLabels: dockertest.Labels(nil)})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = rt.Pull(t.Context(), ref, runtime.PullAlways) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
	}
	t.Logf("pause image made in %v", time.Since(began))
	img, err := cli.ImageInspect(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.Labels[pause.LabelImage] != "pause" || img.Config.Labels[dockertest.LabelTest] != "1" {
		t.Errorf("image labels %v, want berth.image=pause and berth.test=1", img.Config.Labels)
	}

	id, err := rt.Create(t.Context(), runtime.ContainerSpec{
		Name: dockertest.Name("pause"), Image: ref, DockerLabels: dockertest.Labels(nil),
		Owner: runtime.Owner{TaskARN: "task/" + dockertest.Name("task"), ContainerName: "pause"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveContainerOnCleanup(t, cli, id)
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	// It keeps running, checked throughout a second: nothing announces an
	// early exit that does not happen.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st, err := cli.ContainerInspect(t.Context(), id); err != nil || !st.State.Running {
			t.Fatalf("the pause container stopped running after its start: %+v %v", st.State, err)
		}
	}
	timeout := 10
	began = time.Now()
	if err := cli.ContainerStop(t.Context(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	t.Logf("docker stop took %v", took)
	st, err := cli.ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.ExitCode != 0 || took > 5*time.Second {
		t.Fatalf("docker stop: exit code %d after %v, want 0 at once (137 is SIGKILL after the timeout)", st.State.ExitCode, took)
	}
}

// A pause image configured by the user is not berth's: an offline runtime does not
// make it.
func TestOtherPauseImageIsPulled(t *testing.T) {
	cli := dockertest.Client(t)
	ref := pauseRef(t, cli)
	rt, err := docker.NewWithClient(t.Context(), cli, docker.Options{Offline: true, PauseImage: ref + "-not"})
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Pull(t.Context(), ref, runtime.PullDefault)
	if err == nil || !strings.Contains(err.Error(), "offline") {
		t.Fatalf("pull %s offline: %v, want the offline runtime's pull error", ref, err)
	}
}

// pauseRef is a pause image reference of t's own, removed when t ends (the image is
// labelled berth.test=1 too, for sweeping), so that tests side by side never remove
// the image another uses.
func pauseRef(t *testing.T, cli *client.Client) string {
	ref := "berth-test/pause:" + strings.TrimPrefix(dockertest.Name("pause"), "berth-test-")
	dockertest.RemoveImageOnCleanup(t, cli, ref)
	return ref
}
