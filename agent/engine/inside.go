package engine

import (
	"maps"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// Variables ECS sets in every container of a task.
const (
	envEndpointURL   = "AWS_ENDPOINT_URL"
	envRegion        = "AWS_REGION"
	envDefaultRegion = "AWS_DEFAULT_REGION"
	envExecutionEnv  = "AWS_EXECUTION_ENV"
)

// taskEnvironment completes a container's environment (the definition's with
// the override's on top) in ECS's order: the variables of its environment
// files under both (environment overrides files); the container's resolved
// secrets over all three; the endpoint's variables (metadata URIs, credentials) over all,
// as the ECS agent sets its own; then AWS_ENDPOINT_URL (berth's front door, or
// the endpoint's forwarder to it in the task's network namespace),
// AWS_REGION with AWS_DEFAULT_REGION (the task's region, both or neither) and
// AWS_EXECUTION_ENV only where the container sets none.
func taskEnvironment(a *berthv1.TaskAssignment, name string, env map[string]string, opts Options) map[string]string {
	cs := containerSecrets(a, name)
	for k, v := range cs.GetFileEnvironment() {
		setDefault(env, k, v)
	}
	maps.Copy(env, cs.GetEnvironment())
	frontDoor := a.GetAwsEndpointUrl()
	if opts.TaskEndpoint != nil {
		ep := opts.TaskEndpoint.Environment(a, name)
		if u, ok := ep[envEndpointURL]; ok { // the endpoint forwards to the front door
			frontDoor = u
			delete(ep, envEndpointURL)
		}
		maps.Copy(env, ep)
	}
	if frontDoor != "" {
		setDefault(env, envEndpointURL, frontDoor)
	}
	_, hasRegion := env[envRegion]
	_, hasDefault := env[envDefaultRegion]
	if region := arnRegion(a.GetTask().GetTaskArn()); region != "" && !hasRegion && !hasDefault {
		env[envRegion], env[envDefaultRegion] = region, region
	}
	execEnv := "AWS_ECS_EC2"
	if a.GetTask().GetLaunchType() == "FARGATE" {
		execEnv = "AWS_ECS_FARGATE"
	}
	if a.GetRoleCredentialsInEnvironment() {
		roleCredentialsEnvironment(env, a.GetTaskRoleCredentials())
		return env // a Lambda environment: AWS_EXECUTION_ENV is Lambda's, or none
	}
	setDefault(env, envExecutionEnv, execEnv)
	return env
}

// roleCredentialsEnvironment puts the role's credentials into env as Lambda
// puts its execution role's (over anything the definition says: Lambda
// reserves these names).
func roleCredentialsEnvironment(env map[string]string, c *berthv1.RoleCredentials) {
	if c == nil {
		return
	}
	env["AWS_ACCESS_KEY_ID"], env["AWS_ACCESS_KEY"] = c.GetAccessKeyId(), c.GetAccessKeyId()
	env["AWS_SECRET_ACCESS_KEY"] = c.GetSecretAccessKey()
	env["AWS_SESSION_TOKEN"] = c.GetSessionToken()
}

// applySecretLogOptions adds the container's resolved
// logConfiguration.secretOptions to its log driver's options, when the driver
// is the definition's own (not one berth stands in with).
func applySecretLogOptions(s *runtime.ContainerSpec, a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition) {
	lo := containerSecrets(a, def.GetName()).GetLogOptions()
	if len(lo) == 0 || s.Log == nil || s.Log.Driver != def.GetLogConfiguration().GetLogDriver() {
		return
	}
	opts := maps.Clone(s.Log.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	maps.Copy(opts, lo)
	s.Log = &runtime.LogConfig{Driver: s.Log.Driver, Options: opts}
}

func containerSecrets(a *berthv1.TaskAssignment, name string) *berthv1.ContainerSecrets {
	for _, cs := range a.GetContainerSecrets() {
		if cs.GetContainerName() == name {
			return cs
		}
	}
	return nil
}

func setDefault(env map[string]string, k, v string) {
	if _, ok := env[k]; !ok {
		env[k] = v
	}
}

// arnRegion is the region of an ARN (arn:aws:ecs:REGION:...), "" if none.
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
