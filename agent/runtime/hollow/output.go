package hollow

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// maxOutputLines is how many lines of output a hollow container keeps; older ones are
// dropped, as a log driver's rotation would.
const maxOutputLines = 1000

// outputLine is one line a hollow container printed.
type outputLine struct {
	stderr bool
	text   string // with its newline
}

// output is what a hollow container printed. Guarded by Runtime.mu.
type output struct {
	lines   []outputLine
	dropped int           // lines dropped from the front: lines[0] is line number dropped
	wrote   chan struct{} // closed (and replaced) at each new line and at exit
}

func newOutput() output { return output{wrote: make(chan struct{})} }

// wakeReaders tells Logs followers that something happened; the caller holds r.mu.
func (o *output) wakeReaders() {
	close(o.wrote)
	o.wrote = make(chan struct{})
}

// print appends a line of c's output; the caller holds r.mu.
func (c *container) print(stderr bool, line string) {
	o := &c.output
	o.lines = append(o.lines, outputLine{stderr: stderr, text: line + "\n"})
	if n := len(o.lines) - maxOutputLines; n > 0 {
		o.lines = append(o.lines[:0:0], o.lines[n:]...)
		o.dropped += n
	}
	o.wakeReaders()
}

// printAtStart makes a started container print what testapp would print running its
// command, over time for "lines N INTERVAL". A command testapp does not know, or none
// (a real image's own), prints a line saying the container started, so that a demo on
// hollow containers has some output to show. The caller holds r.mu.
func (r *Runtime) printAtStart(c *container) {
	args := testappArgs(argv(c.spec))
	if len(args) == 0 { // the image's own command, which hollow cannot know
		args = []string{""}
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch args[0] {
	case "lines":
		n, _ := strconv.Atoi(arg(1))
		every, _ := time.ParseDuration(arg(2))
		for i := 1; i <= n; i++ {
			line := "line " + strconv.Itoa(i)
			if i == 1 || every <= 0 {
				c.print(false, line)
				continue
			}
			r.after(c, time.Duration(i-1)*every, func() { c.print(false, line) })
		}
	case "alloc":
		if b := c.behavior; b.allocMiB > 0 {
			c.print(false, "allocated "+strconv.FormatInt(b.allocMiB<<20, 10)+" bytes")
		}
	case "trap-sigterm":
		c.print(false, "waiting for SIGTERM")
	case "sleep", "exit", "serve", "health", "exists", "stress":
	default:
		c.print(false, "hollow container "+c.spec.Name+" started")
	}
}

// Logs implements runtime.Runtime over what the container printed. A followed
// container's output ends when it exits or is removed.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, stdout, stderr io.Writer) error {
	r.mu.Lock()
	c, err := r.lookup(id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	next := c.output.dropped // the number of the next line to write
	if opts.Tail > 0 {
		next = max(next, c.output.dropped+len(c.output.lines)-opts.Tail)
	}
	r.mu.Unlock()
	for {
		r.mu.Lock()
		o := &c.output
		next = max(next, o.dropped)
		batch := append([]outputLine(nil), o.lines[next-o.dropped:]...)
		next = o.dropped + len(o.lines)
		_, present := r.containers[id]
		done := !present || c.state.Status == runtime.StatusExited
		wrote := o.wrote
		r.mu.Unlock()
		for _, l := range batch {
			w := stdout
			if l.stderr {
				w = stderr
			}
			if _, err := io.WriteString(w, l.text); err != nil {
				return err
			}
		}
		if !opts.Follow || done {
			return nil
		}
		select {
		case <-wrote:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
