package controlplane

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda/environments"
)

// A Lambda execution environment is a task whose role is the function's
// execution role. Lambda gives a function its role's credentials in its
// variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
// which cannot be renewed while the process runs: so its credentials are
// issued, with the task's assignment as a task role's are, to last as long
// as the environment may live (environments.CredentialsLifetime of the
// runner's MaxLifetime), the assignment asks the agent to put them into the
// container's environment, and they are revoked when the task stops, as a
// task role's are. Nothing of them is stored but the grant.

// lambdaCredentials says whether task is an execution environment of
// berth's Lambda runner, and how long its credentials must last.
func (c *ControlPlane) lambdaCredentials(task *berthv1.Task) (time.Duration, bool) {
	r := c.runner.Load()
	if r == nil || !environments.IsEnvironment(task, r.cluster) {
		return 0, false
	}
	return environments.CredentialsLifetime(r.maxLifetime), true
}
