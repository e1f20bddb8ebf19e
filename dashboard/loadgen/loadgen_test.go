package loadgen_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/berth/berth/dashboard/loadgen"
	"github.com/berth/berth/internal/cptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server counts the requests it answers; block holds every answer until
// closed (nil: none held).
func server(t *testing.T, block chan struct{}) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func newGen(t *testing.T) *loadgen.Generator {
	t.Helper()
	g := loadgen.New(nil)
	t.Cleanup(g.Close)
	return g
}

// A run sends its budget, rate x duration, and no more; then it ends by
// itself, finished.
func TestRunIsBoundedInRateAndTime(t *testing.T) {
	s, served := server(t, nil)
	g := newGen(t)
	const rate, d = 50, 400 * time.Millisecond
	budget := loadgen.Budget(rate, d)
	if budget != 20 {
		t.Fatalf("budget %d, want 20", budget)
	}
	r, err := g.Start("service/default/web", s.URL, rate, d)
	if err != nil || r.State != loadgen.StateRunning || r.Rate != rate || !r.EndsAt.Equal(r.StartedAt.Add(d)) {
		t.Fatalf("Start: %+v %v", r, err)
	}
	cptest.Eventually(t, "the run ends by itself", func() bool {
		r, _ = g.Status("service/default/web")
		return r.State != loadgen.StateRunning
	})
	if r.State != loadgen.StateFinished || r.EndedAt.IsZero() || r.Remaining(time.Now()) != 0 {
		t.Errorf("ended run %+v", r)
	}
	if r.Sent < 1 || r.Sent > budget {
		t.Errorf("sent %d, want 1 to %d", r.Sent, budget)
	}
	if got := served.Load(); got != r.Sent || r.Failed != 0 {
		t.Errorf("the server answered %d, the run sent %d (%d failed: %s)", got, r.Sent, r.Failed, r.LastError)
	}
	// Nothing more arrives once it ended.
	before := served.Load()
	cptest.Consistently(t, "no request after the end", 200*time.Millisecond, func() bool { return served.Load() == before })
}

// Rates and lengths out of bounds are refused, and nothing runs.
func TestBounds(t *testing.T) {
	g := newGen(t)
	for _, tc := range []struct {
		rate int
		d    time.Duration
	}{{0, time.Second}, {loadgen.MaxRate + 1, time.Second}, {1, 0}, {1, loadgen.MaxDuration + time.Second}} {
		if _, err := g.Start("k", "http://127.0.0.1:1/", tc.rate, tc.d); err == nil {
			t.Errorf("rate %d for %v: no error", tc.rate, tc.d)
		}
	}
	if _, ok := g.Status("k"); ok {
		t.Error("a refused run has a status")
	}
}

// One run per key, MaxRuns at once; Stop ends a run at once, and its key
// may start again.
func TestOnePerKeyAndGlobalCap(t *testing.T) {
	block := make(chan struct{})
	s, _ := server(t, block)
	defer close(block)
	g := newGen(t)
	for i := range loadgen.MaxRuns {
		if _, err := g.Start("t"+strconv.Itoa(i), s.URL, 5, loadgen.MaxDuration); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if _, err := g.Start("t0", s.URL, 5, time.Minute); !errors.Is(err, loadgen.ErrBusy) {
		t.Errorf("a second run of t0: %v, want ErrBusy", err)
	}
	if _, err := g.Start("other", s.URL, 5, time.Minute); !errors.Is(err, loadgen.ErrFull) {
		t.Errorf("run %d: %v, want ErrFull", loadgen.MaxRuns+1, err)
	}
	r, ok := g.Stop("t0")
	if !ok || r.State != loadgen.StateStopped || r.EndedAt.IsZero() {
		t.Fatalf("Stop: %+v %v", r, ok)
	}
	if _, ok := g.Stop("never"); ok {
		t.Error("Stop of a key without a run")
	}
	if _, err := g.Start("other", s.URL, 5, time.Minute); err != nil {
		t.Errorf("a run after one stopped: %v", err)
	}
	if _, err := g.Start("t0", s.URL, 5, time.Minute); !errors.Is(err, loadgen.ErrFull) {
		t.Errorf("t0 again with %d running: %v, want ErrFull", loadgen.MaxRuns, err)
	}
}

// Close stops every run, even with requests waiting for their answers,
// and returns once their goroutines ended (TestMain's goleak checks);
// Start refuses after it.
func TestCloseStopsRuns(t *testing.T) {
	block := make(chan struct{})
	s, served := server(t, block)
	defer close(block)
	g := loadgen.New(nil)
	if _, err := g.Start("web", s.URL, loadgen.MaxRate, loadgen.MaxDuration); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "requests waiting", func() bool { return served.Load() > 0 })
	g.Close()
	r, ok := g.Status("web")
	if !ok || r.State != loadgen.StateStopped {
		t.Errorf("after Close: %+v", r)
	}
	if _, err := g.Start("web", s.URL, 1, time.Second); !errors.Is(err, loadgen.ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
	g.Close() // twice is fine
	after := served.Load()
	cptest.Consistently(t, "no request after Close", 200*time.Millisecond, func() bool { return served.Load() == after })
}

// Failed requests (no answer, 5xx) are counted with the last error.
func TestFailures(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	t.Cleanup(s.Close)
	g := newGen(t)
	if _, err := g.Start("web", s.URL, 50, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var r loadgen.Run
	cptest.Eventually(t, "the run ends", func() bool {
		r, _ = g.Status("web")
		return r.State == loadgen.StateFinished
	})
	if r.Failed == 0 || r.Failed != r.Sent || r.LastError != "HTTP 502" {
		t.Errorf("run %+v", r)
	}
}
