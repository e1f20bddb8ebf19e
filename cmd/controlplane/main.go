// Command controlplane runs berth's control plane: the ECS API over gRPC and
// HTTP, backed by one bbolt file in the data dir.
//
//	controlplane -dev                      # temporary data dir, tokens printed
//	controlplane --data-dir /var/lib/berth # a lasting one
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth/berth/arn"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecr/registry"
	"github.com/berth/berth/internal/inprocess"
	"github.com/berth/berth/lambda/lambdaapi"
	"github.com/berth/berth/lambda/zipimage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dataDir    = flag.String("data-dir", "", "directory for state.db and the tokens (required unless -dev)")
		grpcAddr   = flag.String("grpc-addr", controlplane.DefaultGRPCAddr, "gRPC listen address")
		httpAddr   = flag.String("http-addr", controlplane.DefaultHTTPAddr, "HTTP listen address (/healthz, /metrics)")
		regAddr    = flag.String("registry-addr", registry.DefaultAddr, "the image registry's (ECR's) listen address")
		regCert    = flag.String("registry-tls-cert", "", "a certificate file the image registry serves HTTPS with (needed beyond loopback)")
		regKey     = flag.String("registry-tls-key", "", "the key file of --registry-tls-cert")
		maxBlob    = flag.Int64("registry-max-blob", 0, "the most bytes one blob upload request to the registry may carry (0: no limit)")
		region     = flag.String("region", arn.Default.Region, "region written in ARNs")
		account    = flag.String("account", arn.Default.Account, "account id written in ARNs")
		dev        = flag.Bool("dev", false, "development mode: a temporary data dir (unless --data-dir), debug logs, tokens printed")
		logLevel   = flag.String("log-level", "info", "debug, info, warn or error")
		hbPeriod   = flag.Duration("heartbeat-period", 0, "how often agents heartbeat (default 5s); they are cut off after three silent periods")
		grace      = flag.Duration("agent-restart-grace", 0, "how long the agents have to come back after the control plane starts before their tasks are lost (default 2m)")
		credLife   = flag.Duration("task-credentials-lifetime", 0, "how long a task role's credentials last (default 1h); they are renewed with a third left")
		endpoint   = flag.String("aws-endpoint-url", "", "where tasks' AWS SDKs reach berth (AWS_ENDPOINT_URL; default: the HTTP address, a wildcard address as 127.0.0.1)")
		lbBind     = flag.String("lb-bind", "127.0.0.1", "the host load balancer listeners (elbv2 create-listener) bind their ports on")
		urlAddr    = flag.String("lambda-url-addr", lambdaapi.DefaultURLAddr, "the address Lambda's function URLs are served on (ID.lambda-url.REGION.localhost:PORT, or /ID/... on it)")
		noThrottle = flag.Bool("no-throttle", false, "do not throttle ECS calls (by default they are limited to ECS's documented rates, answering ThrottlingException over them)")
		certTTL    = flag.Duration("agent-cert-ttl", controlplane.DefaultAgentCertTTL, "how long an agent's client certificate is valid; agents renew it two thirds into its life")
		tlsCert    = flag.String("tls-cert", "", "a certificate file the gRPC and HTTP listeners serve beyond loopback (agents always use berth's CA)")
		tlsKey     = flag.String("tls-key", "", "the key file of --tls-cert")
		tlsAuto    = flag.Bool("tls-auto", false, "beyond loopback, serve a certificate berth's CA issues (clients trust <data-dir>/ca.crt)")
		insecure   = flag.Bool("insecure-bind", false, "allow listening beyond loopback in plain text (without --tls-cert or --tls-auto)")
		dashPublic = flag.Bool("dashboard-public", false, "serve the dashboard's data (snapshot, events, task details) without a token or share link")
		metricsPub = flag.Bool("metrics-public", false, "serve /metrics without a token (for a Prometheus on loopback)")
		pprof      = flag.Bool("pprof", false, "serve Go's profiles at /debug/pprof/ on the HTTP address (admin token required)")
		memLimit   = flag.String("memory-limit", defaultMemoryLimit, "soft limit of the Go runtime's memory (as GOMEMLIMIT, which wins over the default), e.g. 768MiB, or off: "+
			"the garbage collector works harder near it; raise it for more than 10,000 instances and 100,000 tasks")
	)
	lambdaImages := zipimage.RuntimeImages{}
	flag.Var(lambdaImages, "lambda-runtime-image", "RUNTIME=IMAGE: run Lambda's managed runtime RUNTIME (python3.12, nodejs22.x, ...) FROM the base image IMAGE, which carries its runtime interface client; repeatable")
	lambdaIdle := flag.Duration("lambda-idle", 0, "how long an idle Lambda execution environment is kept before it is stopped (default 5m, 1m with -dev)")
	lambdaCluster := flag.String("lambda-cluster", "", "the cluster whose instances run Lambda's execution environments (default berth-lambda; -dev's agent's cluster, default, with -dev)")
	flag.Parse()
	if *dev {
		if *lambdaIdle == 0 {
			*lambdaIdle = time.Minute
		}
		if *lambdaCluster == "" {
			*lambdaCluster = "default"
		}
	}
	if *certTTL < time.Minute {
		return fmt.Errorf("--agent-cert-ttl: %s is too short; give a minute or more", *certTTL)
	}
	for name, d := range map[string]time.Duration{"heartbeat-period": *hbPeriod, "agent-restart-grace": *grace} {
		if d < 0 {
			return fmt.Errorf("--%s: %s is negative; give a positive duration, or 0 for the default", name, d)
		}
	}
	limitSet := false
	flag.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "memory-limit" })
	if limit, ok, err := memoryLimit(*memLimit, limitSet, os.Getenv("GOMEMLIMIT")); err != nil {
		return err
	} else if ok {
		debug.SetMemoryLimit(limit)
	}

	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if *dev {
		level.Set(slog.LevelDebug)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if *dataDir == "" {
		if !*dev {
			return fmt.Errorf("--data-dir is required (or -dev for a temporary one)")
		}
		tmp, err := os.MkdirTemp("", "berth-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dataDir = tmp
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hollows := inprocess.NewInstances(ctx, *dataDir, log) // the dashboard's "add instance" in -dev
	var addInstance func(ctx context.Context, cluster, zone, instanceType string) error
	if *dev {
		addInstance = hollows.Add
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir:  *dataDir,
		GRPCAddr: *grpcAddr,
		HTTPAddr: *httpAddr,

		RegistryAddr:    *regAddr,
		RegistryMaxBlob: *maxBlob,
		RegistryTLSCert: *regCert,
		RegistryTLSKey:  *regKey,
		LambdaURLAddr:   *urlAddr,
		ARNs:            arn.Namer{Region: *region, Account: *account},
		Logger:          log,
		LBBind:          *lbBind,

		TaskCredentialsLifetime: *credLife,
		AWSEndpointURL:          *endpoint,

		HeartbeatPeriod:   *hbPeriod,
		AgentTTL:          3 * *hbPeriod,
		AgentRestartGrace: *grace,
		Pprof:             *pprof,
		Throttle:          !*noThrottle,
		AgentCertTTL:      *certTTL,
		TLSCert:           *tlsCert,
		TLSKey:            *tlsKey,
		TLSAuto:           *tlsAuto,
		InsecureBind:      *insecure,
		DashboardPublic:   *dashPublic,
		MetricsPublic:     *metricsPub,
		AddInstance:       addInstance,
		Fargate:           fargatePool(ctx, *dev, *dataDir, log),
		Capacity:          capacityConfig(*dev, log),
		Lambda:            controlplane.LambdaRunnerConfig{Cluster: *lambdaCluster, Idle: *lambdaIdle, RuntimeImages: lambdaImages},
		AutoscalingPeriod: autoscalingPeriod(*dev),
	})
	if err != nil {
		return err
	}
	hollows.Join(cp.GRPCAddr(), cp.JoinToken())
	agentDone := make(chan error, 1)
	if *dev {
		printDev(cp, *dataDir)
		go func() {
			agentDone <- inprocess.RunDevAgent(ctx, inprocess.DevAgent{
				ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(), DataDir: *dataDir, PauseImage: *fargatePause, Logger: log})
		}()
	} else {
		agentDone <- nil
	}
	<-ctx.Done()
	if err := <-agentDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("dev agent", "err", err)
	}
	hollows.Wait()
	log.Info("shutting down: letting in-flight calls finish")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cp.Shutdown(shutdownCtx)
}

// defaultMemoryLimit is --memory-limit's default. Without a limit the heap
// runs at about twice what is live (GOGC=100, goroutine stacks counted):
// for 10,000 agents and 100,000 tasks, about 1.5 GiB of RSS, when what is
// live (the heap, and the stacks of five goroutines a session) is about
// 700 MiB. Under this limit the collector keeps the Go runtime's memory,
// and so the RSS (the state file's mapped pages and the binary's come on
// top, about 25 MiB), within 1 GiB, at the price of more frequent
// collections: bench/scale measures both.
const defaultMemoryLimit = "960MiB"

// memoryLimit is the soft memory limit to set from --memory-limit (value;
// set: given on the command line) and $GOMEMLIMIT (env), and whether to set
// one: not when the flag is off, nor when GOMEMLIMIT is set and the flag is
// only the default (the runtime has read GOMEMLIMIT itself).
func memoryLimit(value string, set bool, env string) (int64, bool, error) {
	switch {
	case value == "off":
		return math.MaxInt64, true, nil
	case env != "" && !set:
		return 0, false, nil
	}
	n, err := units.RAMInBytes(value)
	if err != nil || n <= 0 {
		return 0, false, fmt.Errorf("--memory-limit: %q is not a size such as 768MiB, nor off", value)
	}
	return n, true, nil
}

func printDev(cp *controlplane.ControlPlane, dataDir string) {
	fmt.Printf(`
berth control plane (dev mode)
  gRPC       %[1]s   (reflection on)
  dashboard  %[7]s
             (a share link, valid 7 days; teacher controls: the admin token)
  HTTP       http://%[2]s   (/healthz, /metrics)
  data dir   %[3]s
  admin token  %[4]s
  join token   %[5]s   (agents pin the cluster CA, %[3]s/ca.crt, and speak mutual TLS)

The aws CLI (ECS JSON API, SigV4 with the key in %[3]s/aws-credentials):
  export AWS_SHARED_CREDENTIALS_FILE=%[3]s/aws-credentials AWS_PROFILE=berth AWS_DEFAULT_REGION=us-east-1
  aws ecs --endpoint-url http://%[2]s list-clusters

The image registry (ECR) at %[6]s:
  aws ecr --endpoint-url http://%[2]s create-repository --repository-name web
  aws ecr --endpoint-url http://%[2]s get-login-password | docker login --username AWS --password-stdin %[6]s
  docker tag web %[6]s/web:v1 && docker push %[6]s/web:v1

The berth CLI (gRPC):
  export BERTH_TOKEN=%[4]s
  go run ./cmd/berth list-services
  grpcurl -plaintext -H 'authorization: Bearer %[4]s' %[1]s berth.v1.ECS/ListClusters

An agent runs in this process (instance type berth.dev); more can join:
  go run ./cmd/agent --control-plane %[1]s --join-token %[5]s --data-dir /tmp/berth-agent-2

Ctrl-C stops it, removes the dev agent's containers and the temporary data dir.
`, cp.GRPCAddr(), cp.HTTPAddr(), dataDir, cp.AdminToken(), cp.JoinToken(), cp.RegistryAddr(), cp.ShareLink(7*24*time.Hour))
}
