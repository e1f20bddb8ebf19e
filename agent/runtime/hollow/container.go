package hollow

import (
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Exit codes of a process killed by a signal, as Docker reports them.
const (
	exitSIGKILL = 137
	exitSIGTERM = 143
)

// container is one simulated container. All fields are guarded by Runtime.mu.
type container struct {
	spec     runtime.ContainerSpec
	state    runtime.ContainerState
	behavior behavior
	timers   []*time.Timer
	exited   chan struct{} // closed when the container exits
	failing  int           // health probes failed in a row
	output   output        // what it printed, for Logs
}

func (c *container) running() bool { return c.state.Status == runtime.StatusRunning }

func (c *container) stopTimers() {
	for _, t := range c.timers {
		t.Stop()
	}
	c.timers = nil
}

// after runs f under r.mu d from now, unless the container stops first.
func (r *Runtime) after(c *container, d time.Duration, f func()) {
	c.timers = append(c.timers, time.AfterFunc(d, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.running() {
			f()
		}
	}))
}

// run makes a started container behave as its command says; the caller holds r.mu.
func (r *Runtime) run(c *container) {
	b := c.behavior
	if b.allocMiB > 0 && c.spec.Memory > 0 && b.allocMiB > c.spec.Memory {
		r.exit(c, exitSIGKILL, true)
		return
	}
	r.printAtStart(c)
	if b.exits {
		r.after(c, b.exitAfter, func() { r.exit(c, b.exitCode, false) })
	}
	if hc := c.spec.HealthCheck; hc != nil {
		c.state.Health = runtime.HealthStarting
		r.scheduleProbe(c, hc)
	}
}

// scheduleProbe runs c's next health probe one interval from now.
func (r *Runtime) scheduleProbe(c *container, hc *runtime.HealthCheck) {
	interval := hc.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	r.after(c, interval, func() {
		r.probe(c, hc)
		r.scheduleProbe(c, hc)
	})
}

// probe records one health probe's result.
func (r *Runtime) probe(c *container, hc *runtime.HealthCheck) {
	retries := hc.Retries
	if retries <= 0 {
		retries = 3
	}
	next := c.state.Health
	if probePasses(hc.Command) {
		c.failing, next = 0, runtime.HealthHealthy
	} else if c.failing++; c.failing >= retries {
		next = runtime.HealthUnhealthy
	}
	r.setHealth(c, next)
}

// setHealth changes c's health and reports a change.
func (r *Runtime) setHealth(c *container, h runtime.HealthStatus) {
	if c.state.Health == h {
		return
	}
	c.state.Health = h
	r.publish(c, runtime.Event{Type: runtime.EventHealth, Health: h})
}

// exit ends a running container; the caller holds r.mu.
func (r *Runtime) exit(c *container, code int, oom bool) {
	if !c.running() {
		return
	}
	c.stopTimers()
	for _, b := range c.state.NetworkBindings {
		r.ports.release(b.Protocol, b.HostPort)
	}
	c.state.Status, c.state.ExitCode, c.state.OOMKilled = runtime.StatusExited, code, oom
	c.state.NetworkBindings, c.state.FinishedAt = nil, time.Now()
	close(c.exited)
	c.output.wakeReaders()
	if oom {
		r.publish(c, runtime.Event{Type: runtime.EventOOM})
	}
	r.publish(c, runtime.Event{Type: runtime.EventDie, ExitCode: code})
}
