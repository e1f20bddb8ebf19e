package docker

import (
	"context"
	"io"
	"strings"

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

var _ runtime.NetworkNamespacer = (*Runtime)(nil)

// NetworkNamespaces implements runtime.NetworkNamespacer: a daemon reached on
// a local socket runs its containers on this host.
func (r *Runtime) NetworkNamespaces() bool {
	return strings.HasPrefix(r.cli.DaemonHost(), "unix://")
}
