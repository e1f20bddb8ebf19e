package hollow

import (
	"context"
	"errors"

	"github.com/berth/berth/agent/runtime"
)

// errNotInRegistry is the cause of pulls failed by FailPull.
var errNotInRegistry = errors.New("manifest unknown: not in the hollow registry")

// Pull implements runtime.Runtime against a simulated registry that holds every image
// but those named in FailPull. A pull from it takes Config.PullLatency and counts in
// Counters.Pulls; an image taken from the local cache does neither.
func (r *Runtime) Pull(ctx context.Context, image string, policy runtime.PullPolicy) error {
	r.mu.Lock()
	local := r.images[image]
	r.mu.Unlock()
	if !policy.Pulls(local) {
		return nil
	}
	err := r.pull(ctx, image)
	if err != nil && policy.FallsBack(local) {
		return nil // ECS's default: fall back to the cached image
	}
	return err
}

func (r *Runtime) pull(ctx context.Context, image string) error {
	r.counters.pulls.Add(1)
	if err := sleep(ctx, r.cfg.PullLatency); err != nil {
		return runtime.CannotPull(image, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.faults.take(OpPull); err != nil {
		return runtime.CannotPull(image, err)
	}
	if r.faults.unpullable[image] {
		return runtime.CannotPull(image, errNotInRegistry)
	}
	r.images[image] = true
	return nil
}
