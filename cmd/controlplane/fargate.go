package main

import (
	"context"
	"flag"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/berth/berth/agent/pause"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/inprocess"
)

// The Fargate pool's flags (registered here so that main only asks for the
// pool's configuration).
var (
	fargateStart    = flag.String("fargate-start-command", "", "Fargate pool: command (run with sh -c) that starts a pool host; the host is in BERTH_* environment variables (see hostpool.Command)")
	fargateStop     = flag.String("fargate-stop-command", "", "Fargate pool: command (run with sh -c) that stops the pool host BERTH_HOST_ID")
	fargateCPU      = flag.Int("fargate-host-cpu", fargate.DefaultHostCPU, "Fargate pool: CPU units of a pool host")
	fargateMemory   = flag.Int("fargate-host-memory", fargate.DefaultHostMemory, "Fargate pool: MiB of memory of a pool host")
	fargateCooldown = flag.Duration("fargate-cooldown", fargate.DefaultCooldown, "Fargate pool: how long a host runs no task before it is removed")
	fargateDelay    = flag.Duration("fargate-provision-delay", 0, "Fargate pool, -dev: how long starting an in-process host takes (to show cold starts)")
	fargatePause    = flag.String("fargate-pause-image", pause.Image, "-dev (its agent and Fargate pool): the image of the pause container that holds an awsvpc task's network namespace (its default command must wait for a signal); the default is berth's own, which berth makes when it is absent, and any other is pulled")
)

// fargatePool is the Fargate pool's configuration: hosts started and stopped
// by the user's commands when given; else, in -dev, in-process agents on the
// local Docker (hollow when there is none); else a static pool (agents
// started with --attribute berth.pool=fargate).
func fargatePool(ctx context.Context, dev bool, dataDir string, log *slog.Logger) fargate.Config {
	cfg := fargate.Config{HostCPU: *fargateCPU, HostMemory: *fargateMemory, Cooldown: *fargateCooldown, Logger: log}
	switch {
	case *fargateStart != "":
		stop := *fargateStop
		if stop == "" {
			stop = *fargateStart // BERTH_POOL_ACTION tells start from stop
		}
		cfg.Provisioner = &hostpool.Command{StartCommand: []string{"sh", "-c", *fargateStart}, StopCommand: []string{"sh", "-c", stop}}
	case dev:
		// The control plane closes it at shutdown (it is an io.Closer).
		cfg.Provisioner = inprocess.NewDevPool(ctx, filepath.Join(dataDir, "fargate-pool"), *fargateDelay, *fargatePause, log)
		if !isSet("fargate-cooldown") {
			cfg.Cooldown = time.Minute
		}
	}
	return cfg
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// The EC2 capacity providers' flags: managed scaling starts instances
// through the Fargate pool's provisioner.
var (
	instanceCPU    = flag.Int("capacity-instance-cpu", capacity.DefaultInstanceCPU, "EC2 capacity providers: CPU units of an instance managed scaling starts")
	instanceMemory = flag.Int("capacity-instance-memory", capacity.DefaultInstanceMemory, "EC2 capacity providers: MiB of memory of an instance managed scaling starts")
	scaleInAfter   = flag.Duration("capacity-scale-in-after", capacity.DefaultScaleInAfter, "EC2 capacity providers: how long the reservation stays below the target capacity before managed scaling removes instances (-dev: 1m)")
)

// capacityConfig is the EC2 capacity providers' configuration.
func capacityConfig(dev bool, log *slog.Logger) capacity.Config {
	cfg := capacity.Config{InstanceCPU: *instanceCPU, InstanceMemory: *instanceMemory, ScaleInAfter: *scaleInAfter, Logger: log}
	if dev && !isSet("capacity-scale-in-after") {
		cfg.ScaleInAfter = time.Minute
	}
	return cfg
}
