package fargate

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
)

// InProcess is a Provisioner whose hosts are agents running in this process
// (agent.Run), each with its own data dir and runtime. It owns their
// goroutines: Stop ends one, Close ends all.
type InProcess struct {
	// Runtime gives a host its container runtime (a new hollow runtime per
	// host, or one shared Docker client). Required.
	Runtime func(HostSpec) (rt.Runtime, error)
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

	mu     sync.Mutex
	hosts  map[HostID]*inProcessHost
	closed bool
	wg     sync.WaitGroup
}

type inProcessHost struct {
	cancel context.CancelFunc
	done   chan struct{}
	dir    string
}

var errClosed = errors.New("fargate: provisioner closed")

// Start waits Delay, then runs the host's agent until Stop or Close.
func (p *InProcess) Start(ctx context.Context, spec HostSpec) error {
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
		return errors.New("fargate: in-process provisioner needs Runtime and DataDir")
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
		p.hosts = map[HostID]*inProcessHost{}
	}
	if p.hosts[spec.ID] != nil {
		return fmt.Errorf("fargate: host %s is running already", spec.ID)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &inProcessHost{cancel: cancel, done: make(chan struct{}), dir: dir}
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
func (p *InProcess) Stop(ctx context.Context, id HostID) error {
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
func (p *InProcess) Hosts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.hosts)
}

// Close ends every host and waits for their agents; Start fails after it.
func (p *InProcess) Close() error {
	p.mu.Lock()
	p.closed = true
	for id, h := range p.hosts {
		h.cancel()
		delete(p.hosts, id)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}
