package engine

import (
	"context"
	"log/slog"
	"sync"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// loop is the state Run owns: the task machines and what feeds them. Only Run's
// goroutine touches it; the workers it starts talk back through results.
type loop struct {
	e   *Engine
	log *slog.Logger

	tasks map[string]*task
	// adopted holds the containers found in the runtime at start, by task ARN, until
	// the first full assignment set says which tasks they belong to.
	adopted map[string][]runtime.ContainerState
	// sent is the last state change reported of each task.
	sent map[string]*berthv1.TaskStateChange

	results chan result
	workers sync.WaitGroup
}

// result is what a worker learned for a task's machine.
type result struct {
	taskARN string
	in      input
}

func newLoop(e *Engine) *loop {
	return &loop{
		e:       e,
		log:     e.opts.Logger,
		tasks:   make(map[string]*task),
		adopted: make(map[string][]runtime.ContainerState),
		sent:    make(map[string]*berthv1.TaskStateChange),
		results: make(chan result),
	}
}

// step feeds one input to a task's machine, starts the actions it asks for, reports
// its state if it changed, and forgets the task once nothing is left to do for it.
func (l *loop) step(ctx context.Context, t *task, in input) {
	for _, a := range t.handle(l.e.opts.Now(), in) {
		l.spawn(ctx, t.arn, func(ctx context.Context) input { return l.e.execute(ctx, t.arn, a) })
	}
	if t.report {
		l.publish(t)
	}
	if t.done() && (t.unassigned || !t.report) {
		delete(l.tasks, t.arn)
		delete(l.sent, t.arn)
		if ep := l.e.opts.TaskEndpoint; ep != nil {
			ep.TaskGone(t.arn)
		}
	}
}

// publish reports the task's state if it differs from the last report.
func (l *loop) publish(t *task) {
	sc, last := t.stateChange(), l.sent[t.arn]
	if proto.Equal(sc, last) {
		return
	}
	if sc.GetLastStatus() != last.GetLastStatus() {
		l.log.Debug("task status", "task", t.arn, "lastStatus", sc.GetLastStatus(),
			"stopCode", sc.GetStopCode(), "stoppedReason", sc.GetStoppedReason())
	}
	l.sent[t.arn] = sc
	if ep := l.e.opts.TaskEndpoint; ep != nil {
		ep.TaskChanged(t.assignment, sc)
	}
	l.e.opts.Report(sc)
}

// spawn runs f in a worker goroutine and feeds its input to the task's machine. The
// worker ends when f returns and the loop has taken the input, or when ctx ends.
func (l *loop) spawn(ctx context.Context, taskARN string, f func(context.Context) input) {
	l.workers.Go(func() {
		in := f(ctx)
		select {
		case l.results <- result{taskARN: taskARN, in: in}:
		case <-ctx.Done():
		}
	})
}

// result hands a worker's input to its task's machine. An observation of a container
// adopted but not yet assigned refreshes what was adopted.
func (l *loop) result(ctx context.Context, r result) {
	if t := l.tasks[r.taskARN]; t != nil {
		l.step(ctx, t, r.in)
		return
	}
	if o, ok := r.in.(observed); ok {
		l.readopt(r.taskARN, o)
	}
}

// event asks the runtime for the state of a container an event is about.
func (l *loop) event(ctx context.Context, ev runtime.Event) {
	switch ev.Type {
	case runtime.EventDie, runtime.EventOOM, runtime.EventHealth, runtime.EventDestroy:
	default:
		return
	}
	arn, name := ev.Labels[runtime.LabelTaskARN], ev.Labels[runtime.LabelContainerName]
	if l.tasks[arn] == nil && l.adopted[arn] == nil {
		return
	}
	l.spawn(ctx, arn, func(ctx context.Context) input {
		s, err := l.e.rt.Inspect(ctx, ev.ContainerID)
		return observed{container: name, id: ev.ContainerID, state: s, err: err}
	})
}
