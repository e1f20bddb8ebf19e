package main

import (
	"context"
	"log/slog"
	"path/filepath"
	goruntime "runtime"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
)

// runDevAgent runs -dev's in-process agent until ctx ends: on the local
// Docker, or on the hollow runtime, with a warning, when there is none. Its
// containers are removed when it stops.
func runDevAgent(ctx context.Context, cp *controlplane.ControlPlane, dataDir string, log *slog.Logger) error {
	var runtime rt.Runtime
	d, err := docker.New(ctx, docker.Options{})
	if err != nil {
		log.Warn("no Docker daemon: the dev agent runs hollow (simulated) containers", "err", err)
		runtime = hollow.New(hollow.Config{})
	} else {
		defer d.Close()
		runtime = d
	}
	return agent.Run(ctx, agent.Config{
		ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(), Cluster: "default",
		AvailabilityZone: "local-1a", InstanceType: "berth.dev",
		CPU: goruntime.NumCPU() * 1024, Memory: devMemoryMiB(),
		Runtime: runtime, DataDir: filepath.Join(dataDir, "agent"), Logger: log,
		Engine: engine.Options{PauseImage: *fargatePause}, RemoveContainersOnExit: true,
	})
}

// devMemoryMiB is the machine's registerable memory, or 2048 MiB if it
// cannot be read.
func devMemoryMiB() int {
	if m, err := agent.RegisterableMemoryMiB(); err == nil && m > 256 {
		return m
	}
	return 2048
}
