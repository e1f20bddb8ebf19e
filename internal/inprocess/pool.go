package inprocess

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/hostpool"
)

// Pool is a hostpool.Provisioner whose hosts are agents running in this
// process (agent.Run), each with its own data dir and runtime. It owns their
// goroutines: Stop ends one, Close ends all.
type Pool struct {
	// Runtime gives a host its container runtime (a new hollow runtime per
	// host, or one shared Docker client). Required.
	Runtime func(hostpool.HostSpec) (rt.Runtime, error)
	// DataDir holds a directory per host (removed when it stops). Required.
	DataDir string
	// Delay is how long Start waits before the agent starts: a cold start.
	Delay time.Duration
	// Engine configures the hosts' task engines; Fargate tasks are awsvpc,
	// so it needs a PauseImage (and PauseCommand if the image has no
	// default command that waits for a signal).
	Engine engine.Options
	// RemoveContainersOnExit removes a host's containers when it stops
	// (Docker: so that nothing outlives the pool).
	RemoveContainersOnExit bool
	Logger                 *slog.Logger

	// closeRuntime, when set, is called by Close once the hosts have
	// stopped: the runtime their hosts shared (NewDevPool's Docker client).
	closeRuntime func()

	mu     sync.Mutex
	hosts  map[hostpool.HostID]*poolHost
	closed bool
	wg     sync.WaitGroup
}

type poolHost struct {
	cancel context.CancelFunc
	done   chan struct{}
	dir    string
}

var errClosed = errors.New("inprocess: pool closed")

// Start waits Delay, then runs the host's agent until Stop or Close.
func (p *Pool) Start(ctx context.Context, spec hostpool.HostSpec) error {
	if p.Delay > 0 {
		t := time.NewTimer(p.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	if p.Runtime == nil || p.DataDir == "" {
		return errors.New("inprocess: the pool needs Runtime and DataDir")
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	runtime, err := p.Runtime(spec)
	if err != nil {
		return fmt.Errorf("runtime for host %s: %w", spec.ID, err)
	}
	dir := filepath.Join(p.DataDir, string(spec.ID))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errClosed
	}
	if p.hosts == nil {
		p.hosts = map[hostpool.HostID]*poolHost{}
	}
	if p.hosts[spec.ID] != nil {
		return fmt.Errorf("inprocess: host %s is running already", spec.ID)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &poolHost{cancel: cancel, done: make(chan struct{}), dir: dir}
	p.hosts[spec.ID] = h
	cfg := agent.Config{
		ControlPlane: spec.ControlPlane, JoinToken: spec.JoinToken, Cluster: spec.Cluster,
		AvailabilityZone: spec.AvailabilityZone, InstanceType: spec.InstanceType, Attributes: spec.Attributes,
		CPU: spec.CPU, Memory: spec.Memory, Runtime: runtime, DataDir: dir, Engine: p.Engine,
		Logger: log.With("pool_host", string(spec.ID)), RemoveContainersOnExit: p.RemoveContainersOnExit,
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(h.done)
		if err := agent.Run(hctx, cfg); err != nil && hctx.Err() == nil {
			log.Warn("pool host agent ended", "host", spec.ID, "err", err)
		}
	}()
	return nil
}

// Stop ends the host's agent and removes its data dir.
func (p *Pool) Stop(ctx context.Context, id hostpool.HostID) error {
	p.mu.Lock()
	h := p.hosts[id]
	delete(p.hosts, id)
	p.mu.Unlock()
	if h == nil {
		return nil
	}
	h.cancel()
	select {
	case <-h.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return os.RemoveAll(h.dir)
}

// Hosts counts the hosts running.
func (p *Pool) Hosts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.hosts)
}

// Close ends every host and waits for their agents; Start fails after it.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	for id, h := range p.hosts {
		h.cancel()
		delete(p.hosts, id)
	}
	closeRuntime := p.closeRuntime
	p.closeRuntime = nil // a second Close must not close the client again
	p.mu.Unlock()
	p.wg.Wait()
	if closeRuntime != nil {
		closeRuntime()
	}
	return nil
}

// NewDevPool is -dev's pool: its hosts keep their data under dataDir and run
// their containers on the local Docker, through one client they share, or on
// the hollow runtime, with a warning, when there is no Docker daemon. Their
// containers are removed when they stop; Close also closes the Docker
// client. pauseImage holds each Fargate task's network namespace (awsvpc);
// delay is how long a host takes to start (to show cold starts).
func NewDevPool(ctx context.Context, dataDir string, delay time.Duration, pauseImage string, log *slog.Logger) *Pool {
	p := &Pool{DataDir: dataDir, Delay: delay, Logger: log, RemoveContainersOnExit: true,
		Engine: engine.Options{PauseImage: pauseImage}}
	d, err := docker.New(ctx, docker.Options{})
	if err != nil {
		log.Warn("no Docker daemon: the Fargate pool runs hollow (simulated) containers", "err", err)
		p.Runtime = func(hostpool.HostSpec) (rt.Runtime, error) { return hollow.New(hollow.Config{}), nil }
		return p
	}
	p.Runtime = func(hostpool.HostSpec) (rt.Runtime, error) { return d, nil }
	p.closeRuntime = func() { d.Close() }
	return p
}
