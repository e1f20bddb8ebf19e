package controlplane

import (
	"fmt"
	"io"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/envfile"
	"github.com/berth/berth/s3/s3fs"
)

// Containers' environmentFiles are read from berth's S3 as the task is
// assigned, beside its secrets and on behalf of the same execution role
// (berth has no IAM: every role may read every object), and sent with the
// assignment only: their values are task configuration, but may hold what
// the secrets would, so they stay out of the store, the logs and
// DescribeTasks as the secrets do.

// EnvFilesPrefix begins the reason of a task stopped because an
// environment file cannot be had, as ECS words it.
const EnvFilesPrefix = "ResourceInitializationError: failed to download env files: "

// resolveEnvFiles adds each container's environment files (a RunTask
// override's instead of the definition's, as ECS takes them) to its
// resolved secrets, merged in ECS's order: the first file that sets a
// variable wins. The first file that cannot be read or parsed is an error
// in ECS's words naming the container and the file's ARN.
func resolveEnvFiles(objects *s3fs.Backend, task *berthv1.Task, td *berthv1.TaskDefinition, secrets []*berthv1.ContainerSecrets) ([]*berthv1.ContainerSecrets, error) {
	for _, cd := range td.GetContainerDefinitions() {
		files := cd.GetEnvironmentFiles()
		for _, o := range task.GetOverrides().GetContainerOverrides() {
			if o.GetName() == cd.GetName() && len(o.GetEnvironmentFiles()) > 0 {
				files = o.GetEnvironmentFiles()
			}
		}
		if len(files) == 0 {
			continue
		}
		parsed := make([][]envfile.Var, 0, len(files))
		for _, f := range files {
			vars, err := readEnvFile(objects, f.GetValue())
			if err != nil {
				return nil, fmt.Errorf("%scontainer %s: %w", EnvFilesPrefix, cd.GetName(), err)
			}
			parsed = append(parsed, vars)
		}
		env := envfile.Merge(parsed...)
		if len(env) == 0 {
			continue
		}
		cs := containerSecretsOf(&secrets, cd.GetName())
		cs.FileEnvironment = env
	}
	return secrets, nil
}

// readEnvFile reads and parses one environment file; errors name its ARN.
func readEnvFile(objects *s3fs.Backend, ref string) ([]envfile.Var, error) {
	r, err := envfile.ParseARN(ref)
	if err != nil {
		return nil, err
	}
	if objects == nil {
		return nil, fmt.Errorf("unable to download env file %s: S3 is not running", ref)
	}
	obj, err := objects.GetObject(r.Bucket, r.Key, nil)
	if err != nil {
		return nil, fmt.Errorf("unable to download env file %s: %w", ref, err)
	}
	defer obj.Contents.Close()
	data, err := io.ReadAll(io.LimitReader(obj.Contents, envfile.MaxSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("unable to download env file %s: %w", ref, err)
	case len(data) > envfile.MaxSize:
		return nil, fmt.Errorf("env file %s is over berth's limit of %d bytes", ref, envfile.MaxSize)
	}
	return envfile.Parse(ref, data)
}

// containerSecretsOf is the container's entry in secrets, added if it has
// none.
func containerSecretsOf(secrets *[]*berthv1.ContainerSecrets, name string) *berthv1.ContainerSecrets {
	for _, cs := range *secrets {
		if cs.GetContainerName() == name {
			return cs
		}
	}
	cs := &berthv1.ContainerSecrets{ContainerName: name}
	*secrets = append(*secrets, cs)
	return cs
}

// s3Objects is S3's objects, nil when S3 is not running.
func (c *ControlPlane) s3Objects() *s3fs.Backend {
	if c.s3 == nil {
		return nil
	}
	return c.s3.Backend()
}
