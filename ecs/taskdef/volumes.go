package taskdef

import (
	"fmt"

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
