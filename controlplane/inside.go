package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/rolecreds"
	"github.com/berth/berth/secretref"
	"github.com/berth/berth/store"
)

// What a task gets from the control plane to use inside it, with its
// assignment: the front door's address (AWS_ENDPOINT_URL), its task role's
// short-lived credentials (renewed over the agent's session while it runs,
// revoked when it stops) and the values of its containers' secrets, resolved
// as the task is assigned on behalf of its execution role (berth has no IAM:
// every role may read every secret of the account).

// startRoleCreds opens the data dir's key for role credentials and the
// grants in the store.
func (c *ControlPlane) startRoleCreds(cfg Config) error {
	key, err := rolecreds.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("role credentials key: %w", err)
	}
	issuer, err := rolecreds.NewIssuer(key)
	if err != nil {
		return err
	}
	c.grants = rolecreds.NewGrants(c.store, issuer, cfg.TaskCredentialsLifetime, nil)
	return nil
}

// endpointURL is where a task's AWS SDKs reach the front door: the
// configured URL, or the HTTP address (a wildcard address as loopback, as
// the host reaches it).
func endpointURL(cfg Config, addr string) string {
	if cfg.AWSEndpointURL != "" {
		return cfg.AWSEndpointURL
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// inside fills in a task's assignment (the dispatcher's Inside): the front
// door's address, the containers' secrets, the task role's credentials. A
// secret that cannot be had stops the task with ECS's reason before any
// container starts (ImagePullsError), and no credentials are issued for it.
func (c *ControlPlane) inside(ctx context.Context, t *berthv1.TaskRecord, a *berthv1.TaskAssignment) {
	a.AwsEndpointUrl = c.endpointURL
	if t.GetTask().GetLastStatus() == store.TaskStopped || a.GetImagePullsError() != "" {
		return
	}
	secrets, err := resolveSecrets(ctx, c.Secrets(), a.GetTaskDefinition())
	if err == nil {
		secrets, err = resolveEnvFiles(c.s3Objects(), t.GetTask(), a.GetTaskDefinition(), secrets)
	}
	switch {
	case err != nil && started(t.GetTask()):
		// Its containers have their values already: a secret or an
		// environment file deleted since must not stop a running task when
		// its agent comes back.
		c.log.Warn("a running task's secrets or environment files cannot be resolved again", "task", t.GetTask().GetTaskArn(), "err", err)
	case err != nil:
		a.ImagePullsError = err.Error()
		return
	default:
		a.ContainerSecrets = secrets
	}
	role := TaskRole(t.GetTask(), a.GetTaskDefinition())
	if role == "" {
		return
	}
	lifetime, inEnv := c.lambdaCredentials(t.GetTask()) // lambdacreds.go
	creds, err := c.grants.IssueFor(ctx, t.GetTask().GetTaskArn(), role, lifetime)
	if err != nil {
		c.log.Error("task role credentials not issued", "task", t.GetTask().GetTaskArn(), "role", role, "err", err)
		if !started(t.GetTask()) { // a running task keeps the ones it has until the renewer's next pass
			a.ImagePullsError = "ResourceInitializationError: unable to get credentials for the task role " + role
		}
		return
	}
	a.TaskRoleCredentials = roleCredentials(creds)
	a.RoleCredentialsInEnvironment = inEnv
}

// started says whether the task's containers have started.
func started(t *berthv1.Task) bool {
	switch t.GetLastStatus() {
	case "", "PROVISIONING", "PENDING", "ACTIVATING":
		return false
	}
	return true
}

// TaskRole is the role a task's containers act as: the RunTask override's,
// else the task definition's taskRoleArn.
func TaskRole(task *berthv1.Task, td *berthv1.TaskDefinition) string {
	if r := task.GetOverrides().GetTaskRoleArn(); r != "" {
		return r
	}
	return td.GetTaskRoleArn()
}

// ExecutionRole is the role the task's secrets and images are fetched for.
func ExecutionRole(task *berthv1.Task, td *berthv1.TaskDefinition) string {
	if r := task.GetOverrides().GetExecutionRoleArn(); r != "" {
		return r
	}
	return td.GetExecutionRoleArn()
}

func roleCredentials(c rolecreds.Credentials) *berthv1.RoleCredentials {
	return &berthv1.RoleCredentials{RoleArn: c.RoleARN, AccessKeyId: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: float64(c.Expiration.Unix())}
}

// A Resolver resolves one valueFrom (secretref.Resolver).
type Resolver interface {
	Classify(valueFrom string) (secretref.Kind, error)
	Resolve(ctx context.Context, valueFrom string) (string, error)
}

// resolveSecrets resolves every container's secrets and log driver secret
// options. The first that cannot be had is an error in ECS's words naming
// the container and the reference, never a value.
func resolveSecrets(ctx context.Context, r Resolver, td *berthv1.TaskDefinition) ([]*berthv1.ContainerSecrets, error) {
	var out []*berthv1.ContainerSecrets
	for _, cd := range td.GetContainerDefinitions() {
		cs := &berthv1.ContainerSecrets{ContainerName: cd.GetName()}
		for _, s := range cd.GetSecrets() {
			v, err := resolveSecret(ctx, r, cd.GetName(), s)
			if err != nil {
				return nil, err
			}
			if cs.Environment == nil {
				cs.Environment = map[string]string{}
			}
			cs.Environment[s.GetName()] = v
		}
		for _, s := range cd.GetLogConfiguration().GetSecretOptions() {
			v, err := resolveSecret(ctx, r, cd.GetName(), s)
			if err != nil {
				return nil, err
			}
			if cs.LogOptions == nil {
				cs.LogOptions = map[string]string{}
			}
			cs.LogOptions[s.GetName()] = v
		}
		if len(cs.Environment)+len(cs.LogOptions) > 0 {
			out = append(out, cs)
		}
	}
	return out, nil
}

// resolveSecret is one secret's value, or ECS's reason for the task's stop:
// for SSM "unable to retrieve secrets from ssm", for Secrets Manager
// "unable to retrieve secret from asm", as the ECS agent words them.
func resolveSecret(ctx context.Context, r Resolver, container string, s *berthv1.Secret) (string, error) {
	ref := s.GetValueFrom()
	kind, err := r.Classify(ref)
	if err != nil {
		return "", fmt.Errorf("%sexecution resource retrieval failed: container %s: secret %s: %w", ResourceInitPrefix, container, s.GetName(), err)
	}
	v, err := r.Resolve(ctx, ref)
	switch {
	case err == nil:
		return v, nil
	case kind == secretref.Secret:
		return "", fmt.Errorf("%sexecution resource retrieval failed: unable to retrieve secret from asm: container %s: failed to fetch secret %s from secrets manager: %w",
			ResourceInitPrefix, container, ref, err)
	default:
		return "", fmt.Errorf("%sexecution resource retrieval failed: unable to retrieve secrets from ssm: container %s: invalid parameters: %s: %w",
			ResourceInitPrefix, container, ref, err)
	}
}

// credsLoop renews the credentials of running tasks before they expire,
// sending them to their agents, and revokes a task's as it stops. It runs
// on the control plane's loops until ctx ends.
func (c *ControlPlane) credsLoop(ctx context.Context) error {
	lifetime := c.grants.Lifetime()
	period := min(max(lifetime/12, 100*time.Millisecond), time.Minute)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for ctx.Err() == nil {
		events := c.store.Watch(ctx)
		c.renewCredentials(ctx, lifetime/3) // a pass: anything stopped while not watching is revoked
	watch:
		for {
			select {
			case e, ok := <-events:
				if !ok {
					break watch
				}
				if e.Kind != store.KindTask {
					continue
				}
				rec := e.Value.(*berthv1.TaskRecord)
				if e.Deleted || rec.GetTask().GetLastStatus() == store.TaskStopped {
					c.revoke(ctx, rec.GetTask().GetTaskArn())
				}
			case <-tick.C:
				c.renewCredentials(ctx, lifetime/3)
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

func (c *ControlPlane) revoke(ctx context.Context, subject string) {
	if err := c.grants.Revoke(ctx, subject); err != nil && ctx.Err() == nil {
		c.log.Warn("task role credentials not revoked", "task", subject, "err", err)
	}
}

// renewCredentials looks at every grant: a task's that stopped or is gone is
// revoked; one whose credentials have less than renewBefore left is renewed
// and the new credentials sent to the task's agent. Grants of subjects that
// are not tasks are left to their own service.
func (c *ControlPlane) renewCredentials(ctx context.Context, renewBefore time.Duration) {
	var grants []*berthv1.RoleGrant
	if err := c.grants.List(func(g *berthv1.RoleGrant) bool { grants = append(grants, g); return true }); err != nil {
		c.log.Warn("role grants not listed", "err", err)
		return
	}
	now := time.Now()
	for _, g := range grants {
		cluster, id, ok := taskOf(g.GetSubject())
		if !ok {
			continue
		}
		t, err := c.store.Task(cluster, id)
		if err != nil || t.GetTask().GetLastStatus() == store.TaskStopped {
			c.revoke(ctx, g.GetSubject())
			continue
		}
		if !rolecreds.Due(g, now, renewBefore) {
			continue
		}
		creds, err := c.grants.Renew(ctx, g.GetSubject())
		if err != nil {
			if !errors.Is(err, rolecreds.ErrRevoked) && ctx.Err() == nil {
				c.log.Warn("task role credentials not renewed", "task", g.GetSubject(), "err", err)
			}
			continue
		}
		if t.GetInstanceId() != "" {
			c.dispatcher.SendTaskCredentials(cluster, t.GetInstanceId(),
				&berthv1.TaskCredentials{TaskArn: g.GetSubject(), TaskRoleCredentials: roleCredentials(creds)})
		}
	}
}

// taskOf reads a task ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID).
func taskOf(subject string) (cluster, id string, ok bool) {
	a, err := arn.Parse(subject)
	if err != nil || a.Type != arn.TypeTask {
		return "", "", false
	}
	cluster, id, ok = strings.Cut(a.Resource, "/")
	return cluster, id, ok && cluster != "" && id != ""
}

// sessionKeys is the front door's check of temporary credentials: the
// grants' Check, in the front door's terms.
type sessionKeys struct{ grants *rolecreds.Grants }

func (s sessionKeys) CheckSession(accessKeyID, token string) (awsapi.Session, string, error) {
	claims, secret, err := s.grants.Check(accessKeyID, token)
	switch {
	case errors.Is(err, rolecreds.ErrExpired):
		return awsapi.Session{}, "", fmt.Errorf("%w: %v", awsapi.ErrTokenExpired, err)
	case rolecreds.IsRefusal(err):
		return awsapi.Session{}, "", fmt.Errorf("%w: %v", awsapi.ErrTokenInvalid, err)
	case err != nil:
		return awsapi.Session{}, "", err
	}
	return awsapi.Session{RoleARN: claims.RoleARN, Subject: claims.Subject}, secret, nil
}
