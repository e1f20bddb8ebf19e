package inprocess

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
)

// DevAgent is -dev's agent: where it joins and where it keeps its data.
type DevAgent struct {
	// ControlPlane is the gRPC address and JoinToken the token it joins with.
	ControlPlane, JoinToken string
	// DataDir is the control plane's data dir; the agent uses DataDir/agent.
	DataDir string
	// PauseImage holds awsvpc tasks' network namespaces (berth's own by
	// default).
	PauseImage string
	Logger     *slog.Logger
}

// RunDevAgent runs -dev's agent until ctx ends: an instance of the whole
// machine (every CPU, the registerable memory) in the default cluster, on the
// local Docker, or on the hollow runtime, with a warning, when there is none.
// Its containers are removed when it stops.
func RunDevAgent(ctx context.Context, a DevAgent) error {
	log := a.Logger
	if log == nil {
		log = slog.Default()
	}
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
		ControlPlane: a.ControlPlane, JoinToken: a.JoinToken, Cluster: "default",
		AvailabilityZone: "local-1a", InstanceType: "berth.dev",
		CPU: goruntime.NumCPU() * 1024, Memory: devMemoryMiB(),
		Runtime: runtime, DataDir: filepath.Join(a.DataDir, "agent"), Logger: log,
		Engine: engine.Options{PauseImage: a.PauseImage}, RemoveContainersOnExit: true,
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
