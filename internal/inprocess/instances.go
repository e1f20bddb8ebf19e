package inprocess

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/pause"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/dashboard"
)

// MaxInstances bounds the hollow instances Add starts.
const MaxInstances = 500

// Instances starts hollow container instances in this process for -dev's
// dashboard ("add instance"). They run until the context given to
// NewInstances ends (-dev's: Ctrl-C); Wait waits for them to stop.
type Instances struct {
	ctx     context.Context // the instances' lifetime
	dataDir string
	log     *slog.Logger
	target  atomic.Pointer[joinTarget] // nil until Join
	n       atomic.Int64

	mu     sync.Mutex // guards closed and wg.Add against Wait
	closed bool
	wg     sync.WaitGroup
}

// joinTarget is where the instances' agents join.
type joinTarget struct{ addr, token string }

// NewInstances returns an Instances whose agents keep their data under
// dataDir/hollow and run until ctx ends. Add fails until Join.
func NewInstances(ctx context.Context, dataDir string, log *slog.Logger) *Instances {
	if log == nil {
		log = slog.Default()
	}
	return &Instances{ctx: ctx, dataDir: dataDir, log: log}
}

// Join tells the instances where the control plane is, once it has started
// (Add is its hook, given before it starts).
func (d *Instances) Join(controlPlane, joinToken string) {
	d.target.Store(&joinTarget{addr: controlPlane, token: joinToken})
}

// Add starts one hollow instance of a dashboard instance type; it is
// controlplane.Config.AddInstance. ctx is the dashboard request's: the
// instance outlives it, and lives as long as the context of NewInstances.
func (d *Instances) Add(_ context.Context, cluster, zone, instanceType string) error {
	t := d.target.Load()
	if t == nil {
		return errors.New("the control plane is still starting")
	}
	size, ok := dashboard.InstanceTypeNamed(instanceType)
	if !ok {
		return fmt.Errorf("unknown instance type %q", instanceType)
	}
	n := d.n.Add(1)
	if n > MaxInstances {
		d.n.Add(-1)
		return fmt.Errorf("-dev runs at most %d added instances", MaxInstances)
	}
	dir := filepath.Join(d.dataDir, "hollow", fmt.Sprintf("instance-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := agent.Config{
		ControlPlane: t.addr, JoinToken: t.token, Cluster: cluster,
		AvailabilityZone: zone, InstanceType: instanceType, CPU: size.CPU, Memory: size.Memory,
		Runtime: hollow.New(hollow.Config{}), DataDir: dir, Logger: d.log,
		Engine: engine.Options{PauseImage: pause.Image}, // hollow: a name is enough
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.ctx.Err() != nil {
		return errors.New("shutting down")
	}
	d.log.Info("dashboard: starting a hollow instance", "cluster", cluster, "zone", zone, "type", instanceType)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := agent.Run(d.ctx, cfg); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Warn("hollow instance", "dir", dir, "err", err)
		}
	}()
	return nil
}

// Wait waits for the instances to stop (after the context of NewInstances
// ended); Add fails after it.
func (d *Instances) Wait() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}
