package engine

import (
	"fmt"
	"path/filepath"
	"slices"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// Task volumes, as a task definition's volumes declare them:
//
//   - {name} alone, or a host volume without a sourcePath, is task-scoped: a directory
//     Options.VolumesDir/<task id>/<name> that the engine makes before the first
//     container that mounts it is created, shared by every container of the task that
//     mounts it, and removed with the task once all its containers are removed;
//   - {name, host: {sourcePath}} binds that host path;
//   - dockerVolumeConfiguration and efsVolumeConfiguration are not supported:
//     registration refuses them, and a task whose definition has one all the same
//     (stored before that rule) fails to start with CannotCreateVolumeError.
//
// A container's mountPoints name task volumes; its volumesFrom mounts whatever the
// source container mounts (its mountPoints and, in turn, its volumesFrom), read-only
// when the volumesFrom entry says so. berth has no image VOLUMEs to share.

// cannotCreateVolume is the ECS agent's reason prefix for a volume it cannot provide.
const cannotCreateVolume = "CannotCreateVolumeError"

// taskVolumesDir is the directory that holds a task's task-scoped volumes, or "" when
// the engine has no volumes directory.
func taskVolumesDir(volumesDir, taskARN string) string {
	if volumesDir == "" {
		return ""
	}
	return filepath.Join(volumesDir, taskID(taskARN))
}

// taskScoped reports whether v lives and dies with its task.
func taskScoped(v *berthv1.Volume) bool {
	return v.GetHost().GetSourcePath() == "" && v.GetDockerVolumeConfiguration() == nil &&
		v.GetEfsVolumeConfiguration() == nil
}

// volumeProblem says why the engine cannot provide the task's volumes, or "".
func volumeProblem(a *berthv1.TaskAssignment, opts Options) string {
	for _, v := range a.GetTaskDefinition().GetVolumes() {
		var why string
		switch {
		case v.GetDockerVolumeConfiguration() != nil:
			why = "dockerVolumeConfiguration is not supported by berth"
		case v.GetEfsVolumeConfiguration() != nil:
			why = "efsVolumeConfiguration is not supported by berth"
		case taskScoped(v) && opts.VolumesDir == "":
			why = "the agent has no directory for task volumes"
		}
		if why != "" {
			return fmt.Sprintf("%s: volume %q: %s", cannotCreateVolume, v.GetName(), why)
		}
	}
	return ""
}

// volumeSources maps each volume the engine can provide to its host path.
func volumeSources(a *berthv1.TaskAssignment, opts Options) map[string]string {
	dir := taskVolumesDir(opts.VolumesDir, a.GetTask().GetTaskArn())
	sources := map[string]string{}
	for _, v := range a.GetTaskDefinition().GetVolumes() {
		switch {
		case v.GetHost().GetSourcePath() != "":
			sources[v.GetName()] = v.GetHost().GetSourcePath()
		case taskScoped(v) && dir != "":
			sources[v.GetName()] = filepath.Join(dir, v.GetName())
		}
	}
	return sources
}

// scopedVolumeDirs are the host directories of the task's task-scoped volumes.
func scopedVolumeDirs(a *berthv1.TaskAssignment, opts Options) []string {
	dir := taskVolumesDir(opts.VolumesDir, a.GetTask().GetTaskArn())
	var dirs []string
	for _, v := range a.GetTaskDefinition().GetVolumes() {
		if taskScoped(v) && dir != "" {
			dirs = append(dirs, filepath.Join(dir, v.GetName()))
		}
	}
	return dirs
}

// mounts are what def mounts: its mountPoints, then what its volumesFrom take from
// other containers. A path the container already mounts is not mounted twice.
func mounts(a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition, sources map[string]string) []runtime.Mount {
	return collectMounts(a, def, sources, map[string]bool{def.GetName(): true})
}

// collectMounts gathers def's mounts; seen holds the containers already visited, so
// that a volumesFrom cycle or diamond is followed once.
func collectMounts(a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition, sources map[string]string, seen map[string]bool) []runtime.Mount {
	var out []runtime.Mount
	add := func(m runtime.Mount) {
		if !slices.ContainsFunc(out, func(o runtime.Mount) bool { return o.Target == m.Target }) {
			out = append(out, m)
		}
	}
	for _, mp := range def.GetMountPoints() {
		if src, ok := sources[mp.GetSourceVolume()]; ok {
			add(runtime.Mount{Source: src, Target: mp.GetContainerPath(), ReadOnly: mp.GetReadOnly()})
		}
	}
	for _, vf := range def.GetVolumesFrom() {
		from := containerDefinition(a, vf.GetSourceContainer())
		if from == nil || seen[from.GetName()] {
			continue
		}
		seen[from.GetName()] = true
		for _, m := range collectMounts(a, from, sources, seen) {
			m.ReadOnly = m.ReadOnly || vf.GetReadOnly()
			add(m)
		}
	}
	return out
}

// containerDefinition is the task's container definition named name, or nil.
func containerDefinition(a *berthv1.TaskAssignment, name string) *berthv1.ContainerDefinition {
	for _, def := range a.GetTaskDefinition().GetContainerDefinitions() {
		if def.GetName() == name {
			return def
		}
	}
	return nil
}

// volumeDirs are the task-scoped volume directories c mounts, which must exist before
// it is created.
func (t *task) volumeDirs(c *container) []string {
	var dirs []string
	for _, m := range c.spec.Mounts {
		if slices.Contains(t.scopedVolumes, m.Source) && !slices.Contains(dirs, m.Source) {
			dirs = append(dirs, m.Source)
		}
	}
	return dirs
}

// volumesRemoval is the action that removes the task's volumes directory, once every
// container of the task is out of the runtime.
func (t *task) volumesRemoval() []action {
	if t.volumesDir == "" || t.removingVolumes {
		return nil
	}
	for _, c := range t.all() {
		if c.phase != phaseRemoved {
			return nil
		}
	}
	t.removingVolumes = true
	return []action{{kind: actRemoveVolumes, dirs: []string{t.volumesDir}}}
}

// volumesRemoved is the outcome of removing the task's volumes directory. One that
// cannot be removed is logged and left; the task does not wait for it.
type volumesRemoved struct{}

func (volumesRemoved) apply(t *task) { t.volumesDir = "" }
