package taskdef

import (
	"fmt"
	"path"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// checkVolumes checks that task volumes have valid, unique names.
func (t *task) checkVolumes() error {
	t.volumes = map[string]bool{}
	for j, v := range t.td.Volumes {
		p := fmt.Sprintf("volumes[%d].name", j)
		if err := checkName(p, v.Name); err != nil {
			return err
		}
		if t.volumes[v.Name] {
			return ecserr.Field(p, "duplicate volume name %q", v.Name)
		}
		t.volumes[v.Name] = true
		if err := t.checkVolumeSource(j, v); err != nil {
			return err
		}
	}
	return nil
}

// checkVolumeSource refuses the volumes berth's agent cannot provide, which
// would otherwise fail every task at start: Docker named volumes and EFS. A
// host volume's sourcePath is a host path; a volume with neither is a
// directory of the task's own.
func (t *task) checkVolumeSource(j int, v *berthv1.Volume) error {
	p := fmt.Sprintf("volumes[%d]", j)
	switch {
	case v.DockerVolumeConfiguration != nil:
		return ecserr.Field(p+".dockerVolumeConfiguration",
			"not supported by berth: use a host volume (host.sourcePath) or a task volume (a name alone)")
	case v.EfsVolumeConfiguration != nil:
		return ecserr.Field(p+".efsVolumeConfiguration", "not supported: berth has no EFS")
	case v.Host != nil && v.Host.SourcePath != "" && !path.IsAbs(v.Host.SourcePath):
		return ecserr.Field(p+".host.sourcePath", "must be an absolute path, got %q", clip(v.Host.SourcePath))
	case v.Host != nil && strings.Contains(v.Host.SourcePath, ":"):
		return ecserr.Field(p+".host.sourcePath", "must not contain ':', got %q", clip(v.Host.SourcePath))
	}
	return nil
}

// checkContainerVolumes checks that container i mounts task volumes and takes
// volumesFrom other containers of the task.
func (t *task) checkContainerVolumes(i int, c *berthv1.ContainerDefinition) error {
	for k, mp := range c.MountPoints {
		p := cpath(i, fmt.Sprintf("mountPoints[%d].sourceVolume", k))
		switch {
		case mp.SourceVolume == "":
			return ecserr.Field(p, "required")
		case !t.volumes[mp.SourceVolume]:
			return ecserr.Field(p, "%q names no volume of the task", clip(mp.SourceVolume))
		}
	}
	for k, vf := range c.VolumesFrom {
		p := cpath(i, fmt.Sprintf("volumesFrom[%d].sourceContainer", k))
		if err := t.checkContainerRef(p, vf.SourceContainer, c.Name); err != nil {
			return err
		}
	}
	return nil
}
