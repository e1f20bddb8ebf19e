package hollow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Config shapes a hollow Runtime. The zero Config is a fast runtime with Docker's
// ephemeral port range and no images present.
type Config struct {
	// StartLatency is how long Start takes.
	StartLatency time.Duration
	// PullLatency is how long a pull from the simulated registry takes.
	PullLatency time.Duration
	// PortRange is the inclusive range dynamic host ports come from; zero is Docker's,
	// 49153-65535.
	PortRange [2]int
	// Images are present from the start, as if pulled.
	Images []string
	// Load is the synthetic usage each running task reports (SetLoad
	// changes it).
	Load Load
}

// Runtime is one simulated container instance's runtime.
type Runtime struct {
	cfg      Config
	counters counters
	load     loadBits

	mu         sync.Mutex
	containers map[string]*container
	names      map[string]string // container name -> id
	images     map[string]bool   // present locally
	ports      *portAllocator
	faults     faults
	subs       map[*subscriber]bool
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime configured by cfg.
func New(cfg Config) *Runtime {
	if cfg.PortRange == [2]int{} {
		cfg.PortRange = [2]int{49153, 65535}
	}
	r := &Runtime{
		cfg:        cfg,
		containers: map[string]*container{},
		names:      map[string]string{},
		images:     map[string]bool{},
		ports:      newPortAllocator(cfg.PortRange[0], cfg.PortRange[1]),
		faults:     newFaults(),
		subs:       map[*subscriber]bool{},
	}
	for _, img := range cfg.Images {
		r.images[img] = true
	}
	r.SetLoad(cfg.Load)
	return r
}

// Close stops every container's pending timers, so that nothing more happens. The
// containers keep the state they had.
func (r *Runtime) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		c.stopTimers()
	}
}

// lookup returns container id; the caller holds r.mu.
func (r *Runtime) lookup(id string) (*container, error) {
	c, ok := r.containers[id]
	if !ok {
		return nil, runtime.NotFound(id)
	}
	return c, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newID returns a Docker-looking container id.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
