package controlplane

import (
	"context"
	"time"

	"github.com/docker/docker/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/lambda/environments"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/lambdaapi"
	"github.com/berth/berth/lambda/zipimage"
)

// LambdaRunnerConfig configures the runner of Lambda functions (package
// lambda/environments): execution environments as ECS tasks in Cluster.
type LambdaRunnerConfig struct {
	// Cluster runs the environments (environments.DefaultCluster,
	// berth-lambda, when empty; -dev uses its agent's).
	Cluster string
	// Idle is how long an idle environment is kept (5 minutes when 0).
	Idle time.Duration
	// MaxLifetime is how long an environment lives at most
	// (environments.DefaultMaxLifetime when 0); its execution role's
	// credentials last environments.CredentialsLifetime of it.
	MaxLifetime time.Duration
	// AccountConcurrency is the account's concurrent executions (1,000
	// when 0).
	AccountConcurrency int
	// RuntimeImages maps managed runtimes to base images
	// (--lambda-runtime-image).
	RuntimeImages map[string]string
	// ZipPath is where the zip of a CodeSha256 is kept (Lambda's API's
	// CodePath under the data dir); nil: Zip functions cannot run.
	ZipPath func(codeSha256 string) string
	// DockerLabels go on every environment's container (tests label
	// theirs).
	DockerLabels map[string]string
	// Log receives each line of an environment's log stream; nil: debug
	// logs.
	Log func(fn invoke.Function, envID string, line []byte)
}

// lambdaRunner is the runner and what it holds.
type lambdaRunner struct {
	cluster     string
	maxLifetime time.Duration
	pool        *environments.Pool
	zips        *zipimage.Builder
	docker      *client.Client
	conn        *grpc.ClientConn
}

// startLambdaRunner makes the runner: the pool over the ECS launcher
// (in-process ECS calls; the environments' output followed through a
// loopback gRPC connection's GetTaskLogs), and the builder of Zip functions'
// images on the local Docker.
func (c *ControlPlane) startLambdaRunner(cfg Config, api *ecsapi.Server) error {
	lc := cfg.Lambda
	if lc.ZipPath == nil {
		lc.ZipPath = func(sha string) string { return lambdaapi.CodePath(cfg.DataDir, sha) }
	}
	if lc.AccountConcurrency == 0 {
		lc.AccountConcurrency = int(cfg.LambdaConcurrency)
	}
	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	auth := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.adminToken)
	}
	r := &lambdaRunner{conn: conn, cluster: lc.Cluster, maxLifetime: lc.MaxLifetime}
	if r.cluster == "" {
		r.cluster = environments.DefaultCluster
	}
	var images environments.ImageResolver
	if lc.ZipPath != nil {
		if r.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err != nil {
			c.log.Warn("lambda: no Docker client: Zip functions cannot run", "err", err)
		} else {
			r.zips = zipimage.New(zipimage.Config{Docker: r.docker, ZipPath: lc.ZipPath, RuntimeImages: lc.RuntimeImages})
			images = r.zips.Image
		}
	}
	logLine := lc.Log
	if logLine == nil {
		logLine = func(fn invoke.Function, env string, line []byte) {
			c.log.Debug("lambda", "function", fn.ARN, "env", env, "line", string(line))
		}
	}
	var memory environments.MemoryMeter
	if r.docker != nil { // environments run on this host's Docker: they reach their Runtime API on its loopback
		memory = &environments.DockerMemory{Docker: r.docker}
	}
	launcher := environments.NewECSLauncher(environments.ECSConfig{
		ECS: api, Logs: environments.GRPCTaskLogs(berthv1.NewBerthClient(conn), auth), Cluster: lc.Cluster, Logger: c.log,
		Memory: memory, DockerLabels: lc.DockerLabels,
	})
	r.pool = environments.New(environments.Config{
		Launcher: launcher, Images: images, Region: cfg.ARNs.Region, AccountConcurrency: lc.AccountConcurrency,
		Idle: lc.Idle, MaxLifetime: lc.MaxLifetime, Log: logLine, Logger: c.log,
	})
	c.runner.Store(r)
	return nil
}

// closeLambdaRunner stops every environment; before the gRPC server stops,
// whose log streams the environments follow.
func (c *ControlPlane) closeLambdaRunner() {
	r := c.runner.Load()
	if r == nil {
		return
	}
	r.pool.Close()
	r.conn.Close()
	if r.docker != nil {
		r.docker.Close()
	}
}

// LambdaRunner runs Lambda functions' invocations (the Invoker Lambda's API
// takes); Stats lists its environments.
func (c *ControlPlane) LambdaRunner() *environments.Pool { return c.runner.Load().pool }

// LambdaZips builds Zip functions' images (its Prepare is Lambda's API's
// hook before a version is Active); nil without a ZipPath or Docker.
func (c *ControlPlane) LambdaZips() *zipimage.Builder { return c.runner.Load().zips }

// lambdaRunnerHooks are the Invoker and Prepare that Lambda's API uses:
// cfg's when set, else berth's own runner, reached through the control
// plane because the runner starts once gRPC serves, after the API is made.
func (c *ControlPlane) lambdaRunnerHooks(cfg Config) (invoke.Invoker, func(context.Context, invoke.Function, string) error) {
	invoker, prepare := cfg.LambdaInvoker, cfg.LambdaPrepare
	if invoker == nil {
		invoker = runnerInvoker{c}
	}
	if prepare == nil && cfg.LambdaInvoker == nil {
		prepare = func(ctx context.Context, fn invoke.Function, zipPath string) error {
			if r := c.runner.Load(); r != nil && r.zips != nil {
				return r.zips.Prepare(ctx, fn, zipPath)
			}
			return nil
		}
	}
	return invoker, prepare
}

// runnerInvoker invokes through berth's own runner.
type runnerInvoker struct{ c *ControlPlane }

func (i runnerInvoker) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	r := i.c.runner.Load()
	if r == nil {
		return invoke.Result{}, apierr.New(apierr.Internal, "", "Lambda's runner is not running yet")
	}
	return r.pool.Invoke(ctx, req)
}
