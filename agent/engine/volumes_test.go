package engine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// withVolume mounts the task volume "data" at /data.
func withVolume(d *berthv1.ContainerDefinition) {
	d.MountPoints = append(d.MountPoints, &berthv1.MountPoint{SourceVolume: "data", ContainerPath: "/data"})
}

// TestEngineTaskVolumeDirectories follows task volume directories through an engine's
// life: made world-writable before the container that mounts them is created, removed
// once the task's containers are, removed with an orphan's containers by a restarted
// engine, and swept at start when no container of their task is left.
func TestEngineTaskVolumeDirectories(t *testing.T) {
	rt := newRecorder(t)
	volumes := t.TempDir()
	stale := filepath.Join(volumes, "stale", "data")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	first := startEngine(t, rt, Options{VolumesDir: volumes})
	stopped := testTask("stopped", "bridge", def("app", withVolume))
	orphan := testTask("orphan", "bridge", def("app", withVolume))
	for _, a := range []*berthv1.TaskAssignment{stopped, orphan} {
		a.TaskDefinition.Volumes = []*berthv1.Volume{{Name: "data"}}
	}
	first.assign(true, stopped, orphan)
	first.waitStatus(stopped.Task.TaskArn, StatusRunning)
	first.waitStatus(orphan.Task.TaskArn, StatusRunning)
	waitFor(t, "the stale volumes swept", func() bool { return gone(filepath.Dir(stale)) })
	info, err := os.Stat(filepath.Join(volumes, "stopped", "data"))
	if err != nil || info.Mode().Perm() != 0o777 {
		t.Fatalf("the task volume: %v, %v; want a directory with mode 0777", info, err)
	}

	first.assign(false, stoppedCopy(stopped))
	first.waitStatus(stopped.Task.TaskArn, StatusStopped)
	waitFor(t, "the stopped task's volumes removed", func() bool { return gone(filepath.Join(volumes, "stopped")) })
	first.stop()

	second := startEngine(t, rt, Options{VolumesDir: volumes})
	second.assign(true) // the orphan is no longer this instance's
	waitFor(t, "the orphan's volumes removed", func() bool { return gone(filepath.Join(volumes, "orphan")) })
}

func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}
