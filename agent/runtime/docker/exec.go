package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/agent/runtime"
)

var _ runtime.Execer = (*Runtime)(nil)

// Exec implements runtime.Execer with a Docker exec instance: created,
// attached (stdin, stdout and stderr over one hijacked connection, split by
// stdcopy unless there is a TTY), resized as asked, and inspected for its
// exit code when its output ends. Docker cannot stop an exec, so a caller
// that leaves early has the agent kill the exec's process itself (see
// killExec).
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec, eio runtime.ExecIO) (int, error) {
	if len(spec.Command) == 0 {
		return 0, errors.New("exec: no command")
	}
	opts := container.ExecOptions{
		Cmd: spec.Command, Tty: spec.Tty, AttachStdin: spec.Stdin, AttachStdout: true, AttachStderr: true,
	}
	if spec.Tty && spec.Size.Rows > 0 && spec.Size.Cols > 0 {
		opts.ConsoleSize = &[2]uint{spec.Size.Rows, spec.Size.Cols}
	}
	created, err := r.cli.ContainerExecCreate(ctx, id, opts)
	if err != nil {
		return 0, wrapErr("exec", id, err)
	}
	hij, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: spec.Tty, ConsoleSize: opts.ConsoleSize})
	if err != nil {
		return 0, wrapErr("exec attach", id, err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait() // after hij.Close and close(done), which end the goroutines
	defer close(done)
	defer hij.Close()
	stopClosing := context.AfterFunc(ctx, func() { hij.Close() }) // unblocks the output's read
	defer stopClosing()
	if spec.Stdin && eio.Stdin != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case b, ok := <-eio.Stdin:
					if !ok {
						hij.CloseWrite()
						return
					}
					if _, err := hij.Conn.Write(b); err != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	if spec.Tty {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if opts.ConsoleSize != nil {
				r.initialSize(ctx, created.ID, spec.Size, done)
			}
			for {
				select {
				case sz := <-eio.Resize:
					// A failed resize leaves the old size: nothing to stop for.
					r.cli.ContainerExecResize(ctx, created.ID, container.ResizeOptions{Height: sz.Rows, Width: sz.Cols})
				case <-done:
					return
				}
			}
		}()
	}
	if spec.Tty {
		_, err = io.Copy(eio.Stdout, hij.Reader)
	} else {
		_, err = stdcopy.StdCopy(eio.Stdout, eio.Stderr, hij.Reader)
	}
	if ctx.Err() != nil {
		r.killExec(created.ID, id)
		return 0, ctx.Err()
	}
	if err != nil {
		r.killExec(created.ID, id)
		return 0, wrapErr("exec output", id, err)
	}
	info, err := r.exitedExec(ctx, created.ID)
	if err != nil {
		return 0, wrapErr("exec inspect", id, err)
	}
	if info.Running {
		// The output ended (the command closed it) but the command runs on.
		r.killExec(created.ID, id)
		return 0, fmt.Errorf("exec in container %q: the command closed its output and runs on; it was killed", id)
	}
	return info.ExitCode, nil
}

// initialSize gives an exec's TTY its size once the exec runs: daemons
// before API 1.42 ignore the size given at creation, and a resize before the
// process started fails, so it is tried every 10 ms for a second, as the
// docker CLI does.
func (r *Runtime) initialSize(ctx context.Context, execID string, size runtime.TerminalSize, done <-chan struct{}) {
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	for range 100 {
		if r.cli.ContainerExecResize(ctx, execID, container.ResizeOptions{Height: size.Rows, Width: size.Cols}) == nil {
			return
		}
		select {
		case <-retry.C:
		case <-done:
			return
		}
	}
}

// exitedWithin is how long an exec whose output ended may still show as
// running: Docker closes a TTY's output before it records the exit.
const exitedWithin = 5 * time.Second

// exitedExec inspects an exec whose output ended until Docker shows it
// exited, or exitedWithin passed (it is then still running).
func (r *Runtime) exitedExec(ctx context.Context, execID string) (container.ExecInspect, error) {
	ctx = context.WithoutCancel(ctx)
	deadline := time.NewTimer(exitedWithin)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		info, err := r.cli.ContainerExecInspect(ctx, execID)
		if err != nil || !info.Running {
			return info, err
		}
		select {
		case <-poll.C:
		case <-deadline.C:
			return info, nil
		}
	}
}

// killExec kills an exec's process, which Docker's API cannot: by its pid,
// and only after checking in /proc that the pid is in the container's
// cgroup on this host, so that an agent that does not share Docker's pid
// namespace kills nothing else. It is best effort: a process it cannot
// reach runs on until it ends by itself.
func (r *Runtime) killExec(execID, containerID string) {
	info, err := r.cli.ContainerExecInspect(context.Background(), execID)
	if err != nil || !info.Running || info.Pid <= 0 {
		return
	}
	full := info.ContainerID
	if full == "" {
		full = containerID
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", info.Pid))
	if err != nil || !strings.Contains(string(cg), full) {
		return
	}
	syscall.Kill(info.Pid, syscall.SIGKILL)
}
