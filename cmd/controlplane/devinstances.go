package main

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
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/dashboard"
)

// maxDevInstances bounds the hollow instances the dashboard may add in -dev.
const maxDevInstances = 500

// devInstances starts hollow container instances in -dev's process for the
// dashboard's "add instance" control. They run until -dev's context ends
// (Ctrl-C); wait waits for them to stop.
type devInstances struct {
	ctx     context.Context // -dev's: the instances' lifetime
	dataDir string
	log     *slog.Logger
	cp      atomic.Pointer[controlplane.ControlPlane]
	n       atomic.Int64

	mu     sync.Mutex // guards closed and wg.Add against wait
	closed bool
	wg     sync.WaitGroup
}

// add is controlplane.Config.AddInstance. ctx is the dashboard request's;
// the instance lives as long as -dev.
func (d *devInstances) add(_ context.Context, cluster, zone, instanceType string) error {
	cp := d.cp.Load()
	if cp == nil {
		return errors.New("the control plane is still starting")
	}
	size, ok := dashboard.InstanceTypeNamed(instanceType)
	if !ok {
		return fmt.Errorf("unknown instance type %q", instanceType)
	}
	n := d.n.Add(1)
	if n > maxDevInstances {
		d.n.Add(-1)
		return fmt.Errorf("-dev runs at most %d added instances", maxDevInstances)
	}
	dir := filepath.Join(d.dataDir, "hollow", fmt.Sprintf("instance-%d", n))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := agent.Config{
		ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(), Cluster: cluster,
		AvailabilityZone: zone, InstanceType: instanceType, CPU: size.CPU, Memory: size.Memory,
		Runtime: hollow.New(hollow.Config{}), DataDir: dir, Logger: d.log,
		Engine: engine.Options{PauseImage: *fargatePause}, // hollow: a name is enough
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

// wait waits for the added instances to stop (after -dev's context ended).
func (d *devInstances) wait() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}
