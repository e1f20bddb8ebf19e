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
// would otherwise fail every task at start: Docker named volumes, FSx for
// Windows File Server and S3 Files. An EFS volume is checked and normalized
// as ECS does and stored; berth has no EFS, so a task with one is refused
// when it would start (CheckLaunch). A host volume's sourcePath is a host
// path; a volume with none of these is a directory of the task's own.
func (t *task) checkVolumeSource(j int, v *berthv1.Volume) error {
	p := fmt.Sprintf("volumes[%d]", j)
	switch {
	case v.DockerVolumeConfiguration != nil:
		return ecserr.Field(p+".dockerVolumeConfiguration",
			"not supported by berth: use a host volume (host.sourcePath) or a task volume (a name alone)")
	case v.FsxWindowsFileServerVolumeConfiguration != nil:
		return ecserr.Field(p+".fsxWindowsFileServerVolumeConfiguration", "not supported by berth: it runs Linux containers")
	case v.S3FilesVolumeConfiguration != nil:
		return ecserr.Field(p+".s3filesVolumeConfiguration", "not supported by berth: it has no S3 Files")
	case v.EfsVolumeConfiguration != nil:
		return checkEFS(p+".efsVolumeConfiguration", v.EfsVolumeConfiguration)
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

// checkEFS checks an EFS volume configuration by ECS's rules and writes
// ECS's default: rootDirectory "/" when not given. IAM authorization and
// access points need transit encryption, and an access point sets the root
// directory itself.
func checkEFS(p string, efs *berthv1.EFSVolumeConfiguration) error {
	if efs.FileSystemId == "" {
		return ecserr.Field(p+".fileSystemId", "required")
	}
	if efs.RootDirectory == "" {
		efs.RootDirectory = "/"
	}
	if len(efs.RootDirectory) > 4096 || !path.IsAbs(efs.RootDirectory) {
		return ecserr.Field(p+".rootDirectory", "must be an absolute path of at most 4096 characters, got %q", clip(efs.RootDirectory))
	}
	switch efs.TransitEncryption {
	case "", "ENABLED", "DISABLED":
	default:
		return ecserr.Field(p+".transitEncryption", "must be ENABLED or DISABLED, got %q", clip(efs.TransitEncryption))
	}
	if efs.TransitEncryptionPort < 0 || efs.TransitEncryptionPort > 65535 {
		return ecserr.Field(p+".transitEncryptionPort", "must be a port from 0 to 65535, got %d", efs.TransitEncryptionPort)
	}
	auth := efs.AuthorizationConfig
	if auth == nil {
		return nil
	}
	encrypted := efs.TransitEncryption == "ENABLED"
	switch auth.Iam {
	case "", "DISABLED":
	case "ENABLED":
		if !encrypted {
			return ecserr.Field(p+".authorizationConfig.iam", "ENABLED needs transitEncryption ENABLED")
		}
	default:
		return ecserr.Field(p+".authorizationConfig.iam", "must be ENABLED or DISABLED, got %q", clip(auth.Iam))
	}
	if auth.AccessPointId != "" {
		if !encrypted {
			return ecserr.Field(p+".authorizationConfig.accessPointId", "an access point needs transitEncryption ENABLED")
		}
		if efs.RootDirectory != "/" {
			return ecserr.Field(p+".rootDirectory", "must be omitted or / with an access point, which sets the root directory, got %q", clip(efs.RootDirectory))
		}
	}
	return nil
}
