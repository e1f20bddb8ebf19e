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
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/controlplane/arn"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dataDir  = flag.String("data-dir", "", "directory for state.db and the tokens (required unless -dev)")
		grpcAddr = flag.String("grpc-addr", controlplane.DefaultGRPCAddr, "gRPC listen address")
		httpAddr = flag.String("http-addr", controlplane.DefaultHTTPAddr, "HTTP listen address (/healthz, /metrics)")
		region   = flag.String("region", arn.Default.Region, "region written in ARNs")
		account  = flag.String("account", arn.Default.Account, "account id written in ARNs")
		dev      = flag.Bool("dev", false, "development mode: a temporary data dir (unless --data-dir), debug logs, tokens printed")
		logLevel = flag.String("log-level", "info", "debug, info, warn or error")
		hbPeriod = flag.Duration("heartbeat-period", 0, "how often agents heartbeat (default 5s); they are cut off after three silent periods")
		pprof    = flag.Bool("pprof", false, "serve Go's profiles at /debug/pprof/ on the HTTP address (admin token required)")
		memLimit = flag.String("memory-limit", "", "soft limit of the Go runtime's memory, e.g. 768MiB: the garbage collector works harder near it (as GOMEMLIMIT)")
	)
	flag.Parse()
	if *memLimit != "" {
		n, err := units.RAMInBytes(*memLimit)
		if err != nil || n <= 0 {
			return fmt.Errorf("--memory-limit: %q is not a size such as 768MiB", *memLimit)
		}
		debug.SetMemoryLimit(n)
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
	hollows := &devInstances{ctx: ctx, dataDir: *dataDir, log: log} // the dashboard's "add instance" in -dev
	var addInstance func(ctx context.Context, cluster, zone, instanceType string) error
	if *dev {
		addInstance = hollows.add
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir:  *dataDir,
		GRPCAddr: *grpcAddr,
		HTTPAddr: *httpAddr,
		ARNs:     arn.Namer{Region: *region, Account: *account},
		Logger:   log,

		HeartbeatPeriod: *hbPeriod,
		AgentTTL:        3 * *hbPeriod,
		Pprof:           *pprof,
		AddInstance:     addInstance,
		Fargate:         fargatePool(ctx, *dev, *dataDir, log),
		Capacity:        capacityConfig(*dev, log),
	})
	if err != nil {
		return err
	}
	hollows.cp.Store(cp)
	agentDone := make(chan error, 1)
	if *dev {
		printDev(cp, *dataDir)
		go func() { agentDone <- runDevAgent(ctx, cp, *dataDir, log) }()
	} else {
		agentDone <- nil
	}
	<-ctx.Done()
	if err := <-agentDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("dev agent", "err", err)
	}
	hollows.wait()
	log.Info("shutting down: letting in-flight calls finish")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cp.Shutdown(shutdownCtx)
}

func printDev(cp *controlplane.ControlPlane, dataDir string) {
	fmt.Printf(`
berth control plane (dev mode)
  gRPC       %[1]s   (reflection on)
  dashboard  http://%[2]s/   (teacher controls: the admin token)
  HTTP       http://%[2]s   (/healthz, /metrics)
  data dir   %[3]s
  admin token  %[4]s
  join token   %[5]s

The aws CLI (ECS JSON API, SigV4 with the key in %[3]s/aws-credentials):
  export AWS_SHARED_CREDENTIALS_FILE=%[3]s/aws-credentials AWS_PROFILE=berth AWS_DEFAULT_REGION=us-east-1
  aws ecs --endpoint-url http://%[2]s list-clusters

The berth CLI (gRPC):
  export BERTH_TOKEN=%[4]s
  go run ./cmd/berth list-services
  grpcurl -plaintext -H 'authorization: Bearer %[4]s' %[1]s berth.v1.ECS/ListClusters

An agent runs in this process (instance type berth.dev); more can join:
  go run ./cmd/agent --control-plane %[1]s --join-token %[5]s --data-dir /tmp/berth-agent-2

Ctrl-C stops it, removes the dev agent's containers and the temporary data dir.
`, cp.GRPCAddr(), cp.HTTPAddr(), dataDir, cp.AdminToken(), cp.JoinToken())
}
