package taskdef

import (
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// CheckLaunch refuses to start tasks of a stored task definition that berth
// stores but cannot run: one with an EFS volume, since berth has no EFS to
// mount (an UnsupportedFeatureException naming the volume). RunTask,
// StartTask, CreateService and UpdateService check it.
func CheckLaunch(td *berthv1.TaskDefinition) error {
	for j, v := range td.GetVolumes() {
		if v.GetEfsVolumeConfiguration() != nil {
			e := ecserr.Field(fmt.Sprintf("taskDefinition.volumes[%d].efsVolumeConfiguration", j),
				"not supported by berth: it has no EFS to mount, so a task with volume %q cannot start", v.GetName())
			e.Class, e.Exception = ecserr.Unimplemented, ecserr.UnsupportedFeatureException
			return e
		}
	}
	return nil
}
