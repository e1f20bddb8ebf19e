// Command agent runs berth's container instance agent: it registers with the
// control plane and runs the tasks it is assigned, in Docker or, with
// --runtime hollow, as simulated containers.
//
//	agent --control-plane 127.0.0.1:7400 --join-token-file /var/lib/berth/join.token \
//	      --availability-zone us-east-1a --instance-type m5.large --data-dir /var/lib/berth-agent
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/pause"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/agent/session"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		if errors.Is(err, session.ErrJoinRefused) || errors.Is(err, session.ErrRegistrationRefused) {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

// attributes collects repeated --attribute k=v flags.
type attributes map[string]string

func (a attributes) String() string { return fmt.Sprint(map[string]string(a)) }
func (a attributes) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want name=value", v)
	}
	a[k] = val
	return nil
}

func run() error {
	attrs := attributes{}
	var (
		controlPlane = flag.String("control-plane", "127.0.0.1:7400", "the control plane's gRPC address")
		joinToken    = flag.String("join-token", "", "the join token (or --join-token-file)")
		tokenFile    = flag.String("join-token-file", "", "file holding the join token (the control plane's join.token)")
		cluster      = flag.String("cluster", "default", "cluster to join")
		az           = flag.String("availability-zone", "local-1a", "ecs.availability-zone attribute")
		instanceType = flag.String("instance-type", "berth.local", "ecs.instance-type attribute")
		cpu          = flag.Int("cpu", goruntime.NumCPU()*1024, "CPU units to register")
		memory       = flag.Int("memory", 0, "MiB of memory to register (default: total memory minus a reserve)")
		rtName       = flag.String("runtime", "docker", "docker or hollow (simulated containers)")
		dataDir      = flag.String("data-dir", "", "directory for the agent's state (required)")
		pull         = flag.String("image-pull-behavior", "default", "default, always, once or prefer-cached")
		offline      = flag.Bool("offline", false, "docker: never contact a registry; use local images only")
		pauseImage   = flag.String("pause-image", pause.Image, "the image of the pause container that holds an awsvpc task's network namespace (its default command must wait for a signal); the default is berth's own, which the agent makes when it is absent, and any other is pulled")
		instances    = flag.Int("instances", 1, "hollow: run this many instances in one process")
		hollowCPU    = flag.Float64("hollow-cpu-percent", 0, "hollow: the synthetic CPU load each running task reports, in percent of the CPU it reserves")
		hollowMemory = flag.Float64("hollow-memory-percent", 0, "hollow: the synthetic memory load each running task reports, in percent of the memory it reserves")
	)
	flag.Var(attrs, "attribute", "custom attribute name=value (repeatable)")
	flag.Parse()

	token, err := readToken(*joinToken, *tokenFile)
	if err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("--data-dir is required")
	}
	policy, err := runtime.ParsePullPolicy(*pull)
	if err != nil {
		return fmt.Errorf("--image-pull-behavior: %w", err)
	}
	if *memory == 0 {
		if *memory, err = agent.RegisterableMemoryMiB(); err != nil {
			return fmt.Errorf("%w (give --memory)", err)
		}
	}
	if *instances < 1 || (*instances > 1 && *rtName != "hollow") {
		return errors.New("--instances above 1 needs --runtime hollow")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	base := agent.Config{
		ControlPlane: *controlPlane, JoinToken: token, Cluster: *cluster,
		AvailabilityZone: *az, InstanceType: *instanceType, Attributes: attrs,
		CPU: *cpu, Memory: *memory, Logger: log,
		Engine: engine.Options{PullPolicy: policy, PauseImage: *pauseImage},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch *rtName {
	case "docker":
		rt, err := connectDocker(ctx, docker.Options{Offline: *offline}, log)
		if err != nil {
			return err
		}
		defer rt.Close()
		base.Runtime, base.DataDir = rt, *dataDir
		return agent.Run(ctx, base)
	case "hollow":
		log.Warn("hollow runtime: containers are simulated, nothing runs")
		return runHollow(ctx, base, *dataDir, *instances, hollow.Load{CPUPercent: *hollowCPU, MemoryPercent: *hollowMemory})
	default:
		return fmt.Errorf("--runtime %q: want docker or hollow", *rtName)
	}
}

// runHollow runs n hollow instances, each with its own data dir.
func runHollow(ctx context.Context, base agent.Config, dataDir string, n int, hollowLoad hollow.Load) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cfg := base
		cfg.Runtime = hollow.New(hollow.Config{Load: hollowLoad})
		cfg.DataDir = dataDir
		if n > 1 {
			cfg.DataDir = fmt.Sprintf("%s/instance-%d", dataDir, i)
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = agent.Run(ctx, cfg); errs[i] != nil && ctx.Err() == nil {
				cancel() // one instance failing (a refused token) stops them all
			}
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) && !errors.Is(err, session.ErrJoinRefused) {
		return nil
	}
	return err
}

func readToken(token, file string) (string, error) {
	if token != "" {
		return token, nil
	}
	if file == "" {
		return "", errors.New("give --join-token or --join-token-file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--join-token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// connectDocker connects to the Docker daemon, saying so and retrying with
// back-off (1 s doubling to 30 s) while it is unreachable, until ctx ends.
func connectDocker(ctx context.Context, opts docker.Options, log *slog.Logger) (*docker.Runtime, error) {
	backoff := time.Second
	for {
		rt, err := docker.New(ctx, opts)
		if err == nil {
			return rt, nil
		}
		log.Warn("Docker is unreachable; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("docker: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
