package docker

import (
	"context"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/agent/runtime"
)

// Logs implements runtime.Runtime. For a container without a TTY the daemon
// multiplexes stdout and stderr in one stream, which stdcopy splits; a container with
// a TTY (ECS's pseudoTerminal) has one raw stream, all of it stdout.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, stdout, stderr io.Writer) error {
	info, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return wrapErr("logs", id, err)
	}
	tail := "all"
	if opts.Tail > 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	rc, err := r.cli.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail,
	})
	if err != nil {
		return wrapErr("logs", id, err)
	}
	defer rc.Close()
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return wrapErr("logs", id, err)
	}
	return nil
}
