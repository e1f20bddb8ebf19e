package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// ErrStopped is returned by Assign once Run has returned.
var ErrStopped = errors.New("engine: not running")

// errRunTwice is returned by a second call of Run.
var errRunTwice = errors.New("engine: Run called twice")

// Engine runs one container instance's tasks. Create it with New, start Run, and give
// it the control plane's assignments with Assign.
type Engine struct {
	rt          runtime.Runtime
	opts        Options
	assignments chan *berthv1.Assignments
	started     atomic.Bool
	done        chan struct{} // closed when Run has returned
}

// New returns an engine that runs tasks on rt.
func New(rt runtime.Runtime, opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Engine{
		rt:          rt,
		opts:        opts,
		assignments: make(chan *berthv1.Assignments),
		done:        make(chan struct{}),
	}, nil
}

// Assign hands the engine an assignment message: the instance's full set of tasks
// (Full; a task the engine runs that is not in it is stopped) or the tasks that
// changed. Sequence numbers are the caller's business. Assign returns once Run has
// taken the message, or with ctx's error, or ErrStopped when Run has returned.
func (e *Engine) Assign(ctx context.Context, a *berthv1.Assignments) error {
	select {
	case e.assignments <- a:
		return nil
	case <-e.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RunningTasks lists the ARNs of the tasks that have containers in the runtime with
// this instance's label: what RegisterInstance reports after an agent restart.
func (e *Engine) RunningTasks(ctx context.Context) ([]string, error) {
	byTask, err := e.list(ctx)
	if err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(byTask))
	for arn := range byTask {
		arns = append(arns, arn)
	}
	return arns, nil
}

// list returns this instance's containers in the runtime, by task ARN.
func (e *Engine) list(ctx context.Context) (map[string][]runtime.ContainerSummary, error) {
	cs, err := e.rt.List(ctx, map[string]string{runtime.LabelInstanceARN: e.opts.ContainerInstanceARN})
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", e.opts.ContainerInstanceARN, err)
	}
	byTask := make(map[string][]runtime.ContainerSummary)
	for _, c := range cs {
		if arn := c.Labels[runtime.LabelTaskARN]; arn != "" && c.Labels[runtime.LabelContainerName] != "" {
			byTask[arn] = append(byTask[arn], c)
		}
	}
	return byTask, nil
}

// Run is the engine's event loop. It first re-adopts the instance's containers found
// in the runtime, then applies assignments, runtime events and action outcomes until
// ctx ends or the runtime's event stream breaks. Every goroutine it starts has ended
// when it returns; containers are left as they are (a new Engine re-adopts them). Run
// runs once: a second call returns an error.
func (e *Engine) Run(ctx context.Context) error {
	if !e.started.CompareAndSwap(false, true) {
		return errRunTwice
	}
	defer close(e.done)
	ctx, cancel := context.WithCancel(ctx)
	l := newLoop(e)
	defer l.workers.Wait()
	defer cancel()

	events, streamErr := e.rt.Events(ctx, map[string]string{runtime.LabelInstanceARN: e.opts.ContainerInstanceARN})
	if err := l.adopt(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case a := <-e.assignments:
			l.assign(ctx, a)
		case ev, ok := <-events:
			if ok {
				l.event(ctx, ev)
			} else {
				events = nil
			}
		case err := <-streamErr:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("runtime events: %w", err)
		case r := <-l.results:
			l.result(ctx, r)
		}
	}
}
