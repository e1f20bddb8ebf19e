package engine

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestDockerTaskVolumeIsShared: two containers of a task share a task-scoped volume.
// The writer writes to it; the reader, which takes the writer's volumes read-only with
// volumesFrom, reads what was written and cannot write. Once the task's containers are
// removed, so is the task's volumes directory.
func TestDockerTaskVolumeIsShared(t *testing.T) {
	h, _ := startDockerEngine(t)
	box := testimage.Busybox(t)
	writer := dockerDef("writer", box, "sh", "-c", "echo hi > /data/greeting")
	writer.Essential = new(false)
	writer.MountPoints = []*berthv1.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
	reader := dockerDef("reader", box, "sh", "-c", `test "$(cat /data/greeting)" = hi && ! touch /data/other 2>/dev/null`)
	reader.DependsOn = []*berthv1.ContainerDependency{{ContainerName: "writer", Condition: condSuccess}}
	reader.VolumesFrom = []*berthv1.VolumeFrom{{SourceContainer: "writer", ReadOnly: true}}
	task := testTask(dockertest.Name("task"), "bridge", writer, reader)
	task.TaskDefinition.Volumes = []*berthv1.Volume{{Name: "data"}}
	arn := task.Task.TaskArn
	h.assign(true, task)

	sc := h.waitStatus(arn, StatusStopped)
	for _, name := range []string{"writer", "reader"} {
		if c := containerOf(sc, name); c.ExitCode == nil || c.GetExitCode() != 0 {
			t.Errorf("%s: exit code %v, reason %q; want 0", name, c.ExitCode, c.GetReason())
		}
	}
	dir := taskVolumesDir(h.engine.opts.VolumesDir, arn)
	waitFor(t, "the task's volumes directory removed", func() bool {
		_, err := os.Stat(dir)
		return errors.Is(err, fs.ErrNotExist)
	})
}
