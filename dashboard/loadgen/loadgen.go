// Package loadgen is the dashboard's classroom load generator: GET
// requests to one URL at a fixed rate for a bounded time, so that a
// teacher can drive a service's target tracking policy on
// ALBRequestCountPerTarget up, and watch it come back down when the load
// stops.
//
// Everything about it is bounded: at most MaxRate requests a second, for at
// most MaxDuration, rate x duration requests in all (a budget counted as
// they are sent), at most maxInFlight requests waiting for an answer at
// once, one run per key (a scalable target) and at most MaxRuns runs at
// once. A run ends by itself when its time or budget is spent, or when it
// is stopped; Close stops every run and returns once their goroutines have
// ended. The generator's owner (the control plane) closes it when it
// stops.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// The bounds of every run.
const (
	MaxRate     = 50              // requests a second
	MaxDuration = 2 * time.Minute // a run's length
	MaxRuns     = 4               // runs at once, over every key
	// maxInFlight is how many of a run's requests may wait for their
	// answer at once; a tick that finds them all waiting sends nothing.
	maxInFlight = 16
	// requestTimeout bounds one request.
	requestTimeout = 5 * time.Second
	// maxBody is how much of an answer is read (the rest is dropped).
	maxBody = 64 << 10
	// keptDone is how many ended runs are kept for their status.
	keptDone = 64
)

// Run states.
const (
	StateRunning  = "running"
	StateFinished = "finished" // its time or budget ran out
	StateStopped  = "stopped"  // stopped, or the generator closed
)

// Errors of Start.
var (
	ErrBusy   = errors.New("a load generator already runs for it")
	ErrFull   = fmt.Errorf("%d load generators already run: stop one first", MaxRuns)
	ErrClosed = errors.New("the load generator is closed")
)

// Run is a run's status.
type Run struct {
	Key       string
	URL       string
	Rate      int           // requests a second
	Duration  time.Duration // its length at most
	StartedAt time.Time
	// EndsAt is when it ends at the latest; EndedAt when it ended (zero
	// while it runs).
	EndsAt, EndedAt time.Time
	State           string
	// Sent counts the requests sent, Failed those that got no answer or
	// an answer of 500 or more.
	Sent, Failed int64
	LastError    string
}

// Remaining is how long the run has left at now (0 once it ended).
func (r Run) Remaining(now time.Time) time.Duration {
	if r.State != StateRunning || now.After(r.EndsAt) {
		return 0
	}
	return r.EndsAt.Sub(now)
}

// Budget is how many requests a run of rate for d sends at most.
func Budget(rate int, d time.Duration) int64 {
	return int64(rate) * int64(d) / int64(time.Second)
}

// Generator runs the load generator's runs.
type Generator struct {
	client *http.Client
	ctx    context.Context // ends every run (Close)
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	runs   map[string]*run // by key: running ones and the latest ended ones
}

type run struct {
	mu     sync.Mutex
	status Run
	stop   context.CancelFunc
	done   chan struct{}
}

// New returns a generator; client nil uses a client of its own.
func New(client *http.Client) *Generator {
	if client == nil {
		client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: maxInFlight}}
	}
	g := &Generator{client: client, runs: map[string]*run{}}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

// Start starts a run for key: GET url rate times a second for d. It is
// ErrBusy while key's previous run runs, ErrFull while MaxRuns run,
// ErrClosed after Close; a rate or a length out of bounds is an error.
func (g *Generator) Start(key, url string, rate int, d time.Duration) (Run, error) {
	if rate < 1 || rate > MaxRate {
		return Run{}, fmt.Errorf("rate must be between 1 and %d requests a second, got %d", MaxRate, rate)
	}
	if d <= 0 || d > MaxDuration {
		return Run{}, fmt.Errorf("duration must be more than 0 and at most %v, got %v", MaxDuration, d)
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return Run{}, fmt.Errorf("url: %w", err)
	}
	req.Header.Set("User-Agent", "berth-dashboard-loadgen")
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return Run{}, ErrClosed
	}
	running := 0
	for k, r := range g.runs {
		if r.current().State != StateRunning {
			continue
		}
		if k == key {
			return Run{}, ErrBusy
		}
		running++
	}
	if running >= MaxRuns {
		return Run{}, ErrFull
	}
	g.forgetEnded()
	now := time.Now()
	ctx, stop := context.WithCancel(g.ctx)
	r := &run{stop: stop, done: make(chan struct{}),
		status: Run{Key: key, URL: url, Rate: rate, Duration: d, StartedAt: now, EndsAt: now.Add(d), State: StateRunning}}
	g.runs[key] = r
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer close(r.done)
		defer stop()
		g.loop(ctx, r, req, d, Budget(rate, d))
	}()
	return r.current(), nil
}

// forgetEnded drops the oldest ended runs beyond keptDone; under g.mu.
func (g *Generator) forgetEnded() {
	for len(g.runs) >= keptDone+MaxRuns {
		oldest := ""
		var at time.Time
		for k, r := range g.runs {
			s := r.current()
			if s.State != StateRunning && (oldest == "" || s.EndedAt.Before(at)) {
				oldest, at = k, s.EndedAt
			}
		}
		if oldest == "" {
			return
		}
		delete(g.runs, oldest)
	}
}

// loop sends the run's requests, one a tick, until its time or budget is
// spent or ctx ends (stopped), then waits for the requests in flight (which
// ctx's end cancels).
func (g *Generator) loop(ctx context.Context, r *run, req *http.Request, d time.Duration, budget int64) {
	var inflight sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	tick := time.NewTicker(time.Second / time.Duration(r.status.Rate))
	defer tick.Stop()
	timeUp := time.NewTimer(d)
	defer timeUp.Stop()
	var sent int64
	state := StateFinished
	for sent < budget {
		select {
		case <-ctx.Done():
			state = StateStopped
		case <-timeUp.C:
		case <-tick.C:
			select {
			case slots <- struct{}{}:
			default:
				continue // every slot waits for an answer: this tick sends nothing
			}
			sent++
			r.update(func(s *Run) { s.Sent++ })
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer func() { <-slots }()
				g.send(ctx, r, req)
			}()
			continue
		}
		break
	}
	inflight.Wait()
	r.update(func(s *Run) { s.State, s.EndedAt = state, time.Now() })
}

// send makes one request and counts its failure.
func (g *Generator) send(ctx context.Context, r *run, req *http.Request) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	res, err := g.client.Do(req.Clone(ctx))
	if err == nil {
		_, _ = io.CopyN(io.Discard, res.Body, maxBody)
		res.Body.Close()
		if res.StatusCode >= 500 {
			err = fmt.Errorf("HTTP %d", res.StatusCode)
		}
	}
	if err != nil && ctx.Err() == nil {
		r.update(func(s *Run) { s.Failed++; s.LastError = err.Error() })
	}
}

func (r *run) update(f func(*Run)) {
	r.mu.Lock()
	f(&r.status)
	r.mu.Unlock()
}

func (r *run) current() Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Status is key's run, running or the latest ended one.
func (g *Generator) Status(key string) (Run, bool) {
	g.mu.Lock()
	r := g.runs[key]
	g.mu.Unlock()
	if r == nil {
		return Run{}, false
	}
	return r.current(), true
}

// Stop stops key's run and returns once it ended; false when key has no
// run.
func (g *Generator) Stop(key string) (Run, bool) {
	g.mu.Lock()
	r := g.runs[key]
	g.mu.Unlock()
	if r == nil {
		return Run{}, false
	}
	r.stop()
	<-r.done
	return r.current(), true
}

// Close stops every run and returns once their goroutines ended; Start
// refuses from then on. It is safe to call more than once.
func (g *Generator) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
	g.client.CloseIdleConnections()
}
