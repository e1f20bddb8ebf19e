package environments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/internal/testimage"
	"github.com/berth/berth/lambda/envplan"
	"github.com/berth/berth/lambda/invoke"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := testimage.Cleanup(); err != nil { // the Docker tests' images
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// fakeLauncher starts in-process runtimes that speak the Runtime API over
// HTTP. What a runtime does is the invocation's payload: "echo:X" answers X,
// "error" posts an error, "hold" waits for the launcher's gate, "sleep" waits
// until stopped, "exit" and "oom" end the process. FAKE_MODE in the
// function's environment changes the start: "initerror" posts an init error,
// "badentry" fails to start, "crash" exits before asking.
type fakeLauncher struct {
	gate chan struct{}

	mu       sync.Mutex
	specs    []Spec
	launches int
	stopped  int
}

func newFake() *fakeLauncher { return &fakeLauncher{gate: make(chan struct{})} }

type fakeInstance struct {
	l      *fakeLauncher
	done   chan struct{}
	exit   envplan.Exit
	once   sync.Once
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (f *fakeInstance) Done() <-chan struct{} { return f.done }
func (f *fakeInstance) Exit() envplan.Exit    { return f.exit }
func (f *fakeInstance) MaxMemoryUsedMB() int32 {
	return 21
}
func (f *fakeInstance) end(e envplan.Exit) {
	f.once.Do(func() { f.exit = e; close(f.done) })
}
func (f *fakeInstance) Stop(ctx context.Context) error {
	f.cancel()
	f.end(envplan.Exit{Code: 137})
	f.wg.Wait()
	f.l.mu.Lock()
	f.l.stopped++
	f.l.mu.Unlock()
	return nil
}

func (l *fakeLauncher) Launch(ctx context.Context, spec Spec) (Instance, error) {
	l.mu.Lock()
	l.specs = append(l.specs, spec)
	l.launches++
	l.mu.Unlock()
	rctx, cancel := context.WithCancel(context.Background())
	inst := &fakeInstance{l: l, done: make(chan struct{}), cancel: cancel}
	switch spec.Environment["FAKE_MODE"] {
	case "badentry":
		inst.end(envplan.Exit{StartFailed: true, Code: 127, Reason: "exec: \"/var/task/bootstrap\": stat /var/task/bootstrap: no such file or directory"})
		return inst, nil
	case "crash":
		inst.end(envplan.Exit{Code: 2})
		return inst, nil
	}
	inst.wg.Add(1)
	go func() {
		defer inst.wg.Done()
		l.runtime(rctx, inst, spec)
	}()
	return inst, nil
}

func (l *fakeLauncher) runtime(ctx context.Context, inst *fakeInstance, spec Spec) {
	base := "http://" + spec.Environment["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/"
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cli := &http.Client{Transport: tr}
	post := func(path string, body string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		if resp, err := cli.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	if spec.Environment["FAKE_MODE"] == "initerror" {
		post("init/error", `{"errorMessage":"cannot load handler","errorType":"Runtime.HandlerNotFound"}`)
		inst.end(envplan.Exit{Code: 1})
		return
	}
	fmt.Fprintf(spec.Output, "init of %s\n", spec.Environment["AWS_LAMBDA_FUNCTION_NAME"])
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"invocation/next", nil)
		resp, err := cli.Do(req)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		fmt.Fprintf(spec.Output, "handling %s\n", body)
		op, arg, _ := strings.Cut(string(body), ":")
		switch op {
		case "echo":
			post("invocation/"+id+"/response", arg)
		case "error":
			post("invocation/"+id+"/error", `{"errorMessage":"it failed","errorType":"MyError"}`)
		case "hold":
			select {
			case <-l.gate:
			case <-ctx.Done():
				return
			}
			post("invocation/"+id+"/response", `"held"`)
		case "sleep":
			<-ctx.Done()
			return
		case "exit":
			inst.end(envplan.Exit{Code: 3})
			return
		case "oom":
			inst.end(envplan.Exit{Code: 137, OOMKilled: true})
			return
		}
	}
}

func (l *fakeLauncher) counts() (launches, stopped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.launches, l.stopped
}

func function(name string) invoke.Function {
	return invoke.Function{
		ARN: "arn:aws:lambda:us-east-1:000000000000:function:" + name + ":$LATEST", Name: name, Version: "$LATEST",
		PackageType: "Image", Image: "img", MemoryMB: 128, Timeout: 10 * time.Second, ReservedConcurrency: -1,
		Environment: map[string]string{"MY_VAR": "1", "AWS_REGION": "overridden"},
	}
}

func newPool(t *testing.T, l Launcher, cfg Config) *Pool {
	cfg.Launcher = l
	p := New(cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

func invokeOK(t *testing.T, p *Pool, fn invoke.Function, payload string, tail bool) invoke.Result {
	t.Helper()
	r, err := p.Invoke(context.Background(), invoke.Request{Function: fn, RequestID: "req-" + payload, Payload: []byte(payload), LogTail: tail})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	return r
}

func errorType(t *testing.T, r invoke.Result) string {
	t.Helper()
	var doc struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(r.Payload, &doc); err != nil || r.FunctionError != "Unhandled" {
		t.Fatalf("not a function error: %q %q %v", r.FunctionError, r.Payload, err)
	}
	return doc.ErrorType
}

func TestColdThenWarm(t *testing.T) {
	l := newFake()
	var logMu sync.Mutex
	var lines []string
	p := newPool(t, l, Config{Log: func(fn invoke.Function, env string, line []byte) {
		logMu.Lock()
		lines = append(lines, string(line))
		logMu.Unlock()
	}})
	fn := function("hello")
	r1 := invokeOK(t, p, fn, "echo:1", true)
	if string(r1.Payload) != "1" || r1.FunctionError != "" || r1.InitDuration <= 0 || r1.MaxMemoryUsedMB != 21 {
		t.Errorf("cold: %+v", r1)
	}
	for _, want := range []string{"START RequestId: req-echo:1 Version: $LATEST", "handling echo:1", "END RequestId: req-echo:1", "REPORT RequestId: req-echo:1\tDuration: ", "Init Duration: "} {
		if !bytes.Contains(r1.Log, []byte(want)) {
			t.Errorf("log tail lacks %q:\n%s", want, r1.Log)
		}
	}
	r2 := invokeOK(t, p, fn, "echo:2", false)
	if string(r2.Payload) != "2" || r2.InitDuration != 0 || r2.Log != nil {
		t.Errorf("warm: %+v", r2)
	}
	if launches, _ := l.counts(); launches != 1 {
		t.Errorf("launches = %d, want 1 (the warm one reused)", launches)
	}
	if st := p.Stats(); len(st) != 1 || st[0].State != "idle" {
		t.Errorf("stats %+v", st)
	}
	logMu.Lock()
	all := strings.Join(lines, "\n")
	logMu.Unlock()
	if !strings.Contains(all, "init of hello") || strings.Count(all, "REPORT RequestId") != 2 {
		t.Errorf("log stream:\n%s", all)
	}
	env := l.specs[0].Environment
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "hello", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_REGION": "us-east-1", "LAMBDA_TASK_ROOT": "/var/task", "TZ": ":UTC", "MY_VAR": "1",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	// Another version (another key) is not given this environment.
	fn2 := fn
	fn2.ARN, fn2.Version = strings.TrimSuffix(fn.ARN, "$LATEST")+"1", "1"
	invokeOK(t, p, fn2, "echo:3", false)
	if launches, _ := l.counts(); launches != 2 {
		t.Errorf("launches = %d, want 2", launches)
	}
}

func TestFunctionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, mode, payload, want string
		timeout                   time.Duration
	}{
		{"handler error", "", "error", "MyError", 0},
		{"timeout", "", "sleep", "Sandbox.Timedout", 100 * time.Millisecond},
		{"exit", "", "exit", "Runtime.ExitError", 0},
		{"oom", "", "oom", "Runtime.OutOfMemory", 0},
		{"bad entrypoint", "badentry", "echo:x", "Runtime.InvalidEntrypoint", 0},
		{"crash at init", "crash", "echo:x", "Runtime.ExitError", 0},
		{"init error", "initerror", "echo:x", "Runtime.HandlerNotFound", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFake()
			p := newPool(t, l, Config{})
			fn := function("f")
			if tc.mode != "" {
				fn.Environment = map[string]string{"FAKE_MODE": tc.mode}
			}
			if tc.timeout > 0 {
				fn.Timeout = tc.timeout
			}
			r := invokeOK(t, p, fn, tc.payload, true)
			if got := errorType(t, r); got != tc.want {
				t.Errorf("errorType = %q, want %q (%s)", got, tc.want, r.Payload)
			}
			if !bytes.Contains(r.Log, []byte("REPORT RequestId: req-"+tc.payload)) {
				t.Errorf("no REPORT in the tail:\n%s", r.Log)
			}
			if tc.want == "Sandbox.Timedout" && !strings.Contains(string(r.Payload), "Task timed out after 0.10 seconds") {
				t.Errorf("timeout payload %s", r.Payload)
			}
			wantKept := tc.want == "MyError"
			if st := p.Stats(); (len(st) == 1) != wantKept {
				t.Errorf("environments after %s: %+v", tc.name, st)
			}
			if wantKept {
				// The environment is still good.
				if r := invokeOK(t, p, fn, "echo:ok", false); string(r.Payload) != "ok" {
					t.Errorf("after the error: %+v", r)
				}
			}
		})
	}
}

func TestReservedConcurrency(t *testing.T) {
	l := newFake()
	p := newPool(t, l, Config{})
	fn := function("busy")
	fn.ReservedConcurrency = 2
	type res struct {
		r   invoke.Result
		err error
	}
	results := make(chan res, 5)
	var wg sync.WaitGroup
	// Two hold their environment; then three more arrive while they do.
	start := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.Invoke(context.Background(), invoke.Request{Function: fn, Payload: []byte("hold")})
			results <- res{r, err}
		}()
	}
	start()
	start()
	waitFor(t, "two busy environments", func() bool {
		n := 0
		for _, s := range p.Stats() {
			if s.State == "busy" {
				n++
			}
		}
		return n == 2
	})
	for range 3 {
		start()
	}
	var throttled []error
	for len(throttled) < 3 {
		r := <-results
		if r.err == nil {
			t.Fatalf("an invocation ran before the gate opened: %+v", r.r)
		}
		throttled = append(throttled, r.err)
	}
	close(l.gate)
	wg.Wait()
	close(results)
	ok := 0
	for r := range results {
		if r.err == nil && string(r.r.Payload) == `"held"` {
			ok++
		}
	}
	if ok != 2 {
		t.Errorf("%d ran, want 2", ok)
	}
	for _, err := range throttled {
		if !apierr.Is(err, apierr.ResourceExhausted) || !apierr.HasReason(err, invoke.ReasonReservedConcurrency) {
			t.Errorf("throttle error %v", err)
		}
	}
	if launches, _ := l.counts(); launches != 2 {
		t.Errorf("launches = %d, want 2", launches)
	}
}

func TestAccountConcurrency(t *testing.T) {
	l := newFake()
	p := newPool(t, l, Config{AccountConcurrency: 1})
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), invoke.Request{Function: function("a"), Payload: []byte("hold")})
		done <- err
	}()
	waitFor(t, "a busy environment", func() bool { st := p.Stats(); return len(st) == 1 && st[0].State == "busy" })
	_, err := p.Invoke(context.Background(), invoke.Request{Function: function("b"), Payload: []byte("echo:b")})
	if !apierr.HasReason(err, invoke.ReasonAccountConcurrency) {
		t.Errorf("second function: %v", err)
	}
	close(l.gate)
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func TestScaleToZero(t *testing.T) {
	l := newFake()
	p := newPool(t, l, Config{Idle: 50 * time.Millisecond})
	invokeOK(t, p, function("idle"), "echo:1", false)
	waitFor(t, "no environment left", func() bool { _, stopped := l.counts(); return len(p.Stats()) == 0 && stopped == 1 })
	// The next invocation is a cold start again.
	if r := invokeOK(t, p, function("idle"), "echo:2", false); r.InitDuration <= 0 {
		t.Errorf("after scale to zero: %+v", r)
	}
}

func TestZipWithoutImage(t *testing.T) {
	l := newFake()
	p := newPool(t, l, Config{Images: func(ctx context.Context, fn invoke.Function) (string, error) {
		return "", &envplan.FunctionError{Type: "Runtime.Unsupported", Message: "python3.12 is not mapped: --lambda-runtime-image python3.12=IMAGE"}
	}})
	fn := function("zip")
	fn.PackageType, fn.Runtime = "Zip", "python3.12"
	r := invokeOK(t, p, fn, "echo:1", false)
	if errorType(t, r) != "Runtime.Unsupported" || !strings.Contains(string(r.Payload), "--lambda-runtime-image python3.12=IMAGE") {
		t.Errorf("%s", r.Payload)
	}
	if launches, _ := l.counts(); launches != 0 {
		t.Errorf("launched %d", launches)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A caller that gives up ends its invocation: the environment, whose
// runtime is still busy with it, is stopped rather than reused.
func TestCallerGivesUp(t *testing.T) {
	l := newFake()
	p := newPool(t, l, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, invoke.Request{Function: function("f"), Payload: []byte("sleep")})
		done <- err
	}()
	waitFor(t, "a busy environment", func() bool { st := p.Stats(); return len(st) == 1 && st[0].State == "busy" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	waitFor(t, "the environment stopped", func() bool { _, stopped := l.counts(); return len(p.Stats()) == 0 && stopped == 1 })
	if r := invokeOK(t, p, function("f"), "echo:again", false); string(r.Payload) != "again" || r.InitDuration <= 0 {
		t.Errorf("next: %+v", r)
	}
}
