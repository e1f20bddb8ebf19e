package docker

import (
	"context"
	"io"

	"github.com/berth/berth/agent/runtime"
)

var _ runtime.Statser = (*Runtime)(nil)

// Stats implements runtime.Statser: one sample from the daemon, in its own
// shape.
func (r *Runtime) Stats(ctx context.Context, id string) ([]byte, error) {
	resp, err := r.cli.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return nil, wrapErr("stats", id, err)
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
