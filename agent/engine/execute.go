package engine

import (
	"context"
	"errors"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// execute makes the runtime call an action asks for and returns its outcome as the
// machine's input. It runs in a worker goroutine.
func (e *Engine) execute(ctx context.Context, taskARN string, a action) input {
	switch a.kind {
	case actPull:
		return pulled{container: a.container, err: e.pull(ctx, a)}
	case actCreate:
		if err := makeVolumeDirs(a.dirs); err != nil {
			return created{container: a.container, err: err}
		}
		id, err := e.rt.Create(ctx, a.spec)
		return created{container: a.container, id: id, err: err}
	case actStart:
		if err := e.rt.Start(ctx, a.id); err != nil {
			return started{container: a.container, err: err}
		}
		s, err := e.rt.Inspect(ctx, a.id)
		if err != nil { // it started; an exit will come as an event
			s = runtime.ContainerState{ID: a.id, Status: runtime.StatusRunning}
		}
		if ep := e.opts.TaskEndpoint; ep != nil {
			if err := ep.ContainerStarted(ctx, taskARN, a.container, s); err != nil {
				e.opts.Logger.Warn("the task endpoint is not served to a container", "task", taskARN, "container", a.container, "err", err)
			}
		}
		return started{container: a.container, state: s}
	case actStop:
		err := e.rt.Stop(ctx, a.id, a.timeout)
		s, ierr := e.rt.Inspect(ctx, a.id)
		return stopped{container: a.container, state: s, err: errors.Join(err, ierr)}
	case actRemove:
		e.remove(ctx, a)
		return removed{container: a.container}
	case actRemoveVolumes:
		e.removeVolumes(a.dirs)
		return volumesRemoved{}
	case actWake:
		sleep(ctx, a.timeout)
		return woke{}
	}
	panic("engine: unknown action " + string(a.kind))
}

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// remove removes a container after the removal delay. A container that cannot be
// removed is logged and left.
func (e *Engine) remove(ctx context.Context, a action) {
	if e.opts.RemoveDelay > 0 {
		timer := time.NewTimer(e.opts.RemoveDelay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
	if err := e.rt.Remove(ctx, a.id); err != nil && !errors.Is(err, runtime.ErrNotFound) && ctx.Err() == nil {
		e.opts.Logger.Warn("cannot remove container", "container", a.container, "id", a.id, "err", err)
	}
}

// pull gets a pull action's image: from berth's registry when the assignment
// says so and the runtime can, else under its own name.
func (e *Engine) pull(ctx context.Context, a action) error {
	if sp, ok := e.rt.(runtime.SourcePuller); ok && a.from != nil {
		return sp.PullFrom(ctx, a.image, *a.from, e.opts.PullPolicy)
	}
	return e.rt.Pull(ctx, a.image, e.opts.PullPolicy)
}
