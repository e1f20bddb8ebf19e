// Package environments runs Lambda functions: it is the invoke.Invoker of
// berth's Lambda. A Pool keeps the account's execution environments, each a
// process started by a Launcher (a container placed by berth's scheduler, see
// ECSLauncher) and driven through its own Runtime API server (package
// runtimeapi) on 127.0.0.1. One invocation runs in an environment at a time;
// a warm idle environment is reused, else one is started (a cold start,
// reported as Init Duration) within the function's reserved concurrency and
// the account's (envplan.Decide); environments idle for Config.Idle are
// stopped (scale to zero). An invocation past the function's timeout stops
// its environment and ends as Lambda's Sandbox.Timedout; an environment that
// dies ends its invocation as Runtime.ExitError, Runtime.OutOfMemory or
// Runtime.InvalidEntrypoint. Each invocation writes START, END and REPORT
// lines to its environment's log stream (Config.Log) beside the function's
// own output.
//
// Goroutines: the reaper (started by New, ended by Close) and one watcher per
// environment, which ends when the environment is stopped. Close stops every
// environment.
package environments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda/envplan"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/runtimeapi"
)

// Launcher starts the process of an execution environment.
type Launcher interface {
	// Launch starts an environment of spec; it returns once the process is
	// asked for (it may still be starting: the pool waits for the runtime's
	// first call).
	Launch(ctx context.Context, spec Spec) (Instance, error)
}

// Spec is one environment to start.
type Spec struct {
	// ID is the environment's id (in its log stream's name).
	ID       string
	Function invoke.Function
	// Image is the image to run (Function.Image, or the one made of a Zip
	// function's code).
	Image string
	// Environment is the whole environment: the function's variables and
	// Lambda's (AWS_LAMBDA_RUNTIME_API among them).
	Environment map[string]string
	// Output receives the process's output (stdout and stderr), if the
	// launcher can follow it.
	Output io.Writer
}

// Instance is a started environment's process.
type Instance interface {
	// Done is closed when the process has exited; Exit then says how.
	Done() <-chan struct{}
	Exit() envplan.Exit
	// Stop kills the process (it need not wait for it to be gone).
	Stop(ctx context.Context) error
}

// MemoryReporter is an Instance that knows its peak memory.
type MemoryReporter interface {
	MaxMemoryUsedMB() int32
}

// ImageResolver gives the image a Zip function runs (the image made of its
// code, or of its runtime's base image); an *envplan.FunctionError it
// returns (an unmapped managed runtime) ends the invocation as a function
// error.
type ImageResolver func(ctx context.Context, fn invoke.Function) (string, error)

// Config configures a Pool.
type Config struct {
	Launcher Launcher
	// Images resolves Zip functions' images; nil: Zip functions fail.
	Images ImageResolver
	// Region is AWS_REGION's value (us-east-1 when empty).
	Region string
	// AccountConcurrency is the account's concurrent executions (1,000 when
	// 0).
	AccountConcurrency int
	// Idle is how long an idle environment is kept (5 minutes when 0).
	Idle time.Duration
	// MaxLifetime is how long an environment is kept at most, busy or not
	// (DefaultMaxLifetime when 0): an idle one that old is stopped. Its
	// role's credentials last CredentialsLifetime(MaxLifetime).
	MaxLifetime time.Duration
	// InitTimeout bounds a cold start: launch and the runtime's
	// initialization (2 minutes when 0; Lambda gives init 10 s, berth also
	// waits for the container to be placed and started).
	InitTimeout time.Duration
	// ListenHost is the address the Runtime API servers listen on
	// (127.0.0.1 when empty): environments reach it over host networking.
	ListenHost string
	// Log receives each line of an environment's log stream (the
	// function's output and the START / END / REPORT lines); nil: dropped.
	Log    func(fn invoke.Function, envID string, line []byte)
	Logger *slog.Logger
	Now    func() time.Time
}

// DefaultInitTimeout bounds a cold start unless configured.
const DefaultInitTimeout = 2 * time.Minute

// DefaultMaxLifetime is how long an execution environment lives at most
// unless configured: Lambda recycles its environments every few hours.
const DefaultMaxLifetime = 2 * time.Hour

// maxTimeout is Lambda's longest function timeout: a busy environment past
// its MaxLifetime lives at most this much longer.
const maxTimeout = 900 * time.Second

// CredentialsLifetime is how long the credentials of an environment's
// execution role must last, put once into its variables: as long as an
// environment of a pool with maxLifetime (DefaultMaxLifetime when 0) may
// live, from the moment it is asked for: its start, its longest life, an
// invocation begun just before then, and the reaper's round.
func CredentialsLifetime(maxLifetime time.Duration) time.Duration {
	if maxLifetime <= 0 {
		maxLifetime = DefaultMaxLifetime
	}
	return DefaultInitTimeout + maxLifetime + maxTimeout + time.Minute
}

// Pool is the account's execution environments; it implements
// invoke.Invoker.
type Pool struct {
	cfg  Config
	log  *slog.Logger
	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	envs     map[string]*env
	reserved map[string]int32 // function name -> reserved concurrency, as last seen
	closed   bool
}

var _ invoke.Invoker = (*Pool)(nil)

// env is one execution environment.
type env struct {
	id    string
	key   string
	fn    invoke.Function
	api   *runtimeapi.Server
	inst  Instance // nil while launching
	out   *logStream
	busy  bool
	idle  time.Time
	state string // "starting", "busy", "idle", "stopping"
	born  time.Time
	stop  sync.Once
	dead  chan struct{} // closed when the pool dropped it
}

// New makes a Pool and starts its reaper.
func New(cfg Config) *Pool {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountConcurrency == 0 {
		cfg.AccountConcurrency = 1000
	}
	if cfg.Idle == 0 {
		cfg.Idle = 5 * time.Minute
	}
	if cfg.InitTimeout == 0 {
		cfg.InitTimeout = DefaultInitTimeout
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.ListenHost == "" {
		cfg.ListenHost = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), envs: map[string]*env{}, reserved: map[string]int32{}}
	p.wg.Add(1)
	go p.reap()
	return p
}

// Close stops the reaper and every environment.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	envs := make([]*env, 0, len(p.envs))
	for _, e := range p.envs {
		envs = append(envs, e)
	}
	p.mu.Unlock()
	close(p.stop)
	for _, e := range envs {
		p.kill(e, "the pool is closing")
	}
	p.wg.Wait()
	return nil
}

// EnvStats is one environment as the dashboard shows it.
type EnvStats struct {
	ID, FunctionARN string
	// State is "starting", "busy", "idle" or "stopping".
	State string
}

// Stats lists the environments.
func (p *Pool) Stats() []EnvStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]EnvStats, 0, len(p.envs))
	for _, e := range p.envs {
		out = append(out, EnvStats{ID: e.id, FunctionARN: e.fn.ARN, State: e.state})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Key is what tells environments apart: the same version, code and
// configuration reuse one.
func Key(fn invoke.Function) string {
	return fmt.Sprintf("%s|%s|%s|%q|%q|%s|%s|%s|%v|%d|%d|%d|%s", fn.ARN, fn.CodeSha256, fn.Image, fn.EntryPoint, fn.Command,
		fn.WorkingDirectory, fn.Runtime, fn.Handler, sortedEnv(fn.Environment), fn.MemoryMB, fn.Timeout, fn.EphemeralStorageMB, fn.Role)
}

func sortedEnv(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Invoke runs req in an environment of its function.
func (p *Pool) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	fn := req.Function
	if req.RequestID == "" {
		req.RequestID = newID()
	}
	key := Key(fn)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return invoke.Result{}, apierr.New(apierr.Internal, "lambda.ServiceUnavailable", "the Lambda runner is shutting down")
	}
	if fn.ReservedConcurrency >= 0 {
		p.reserved[fn.Name] = fn.ReservedConcurrency
	} else {
		delete(p.reserved, fn.Name)
	}
	d := envplan.Decide(p.snapshot(), key, fn.Name, envplan.Limits{Account: p.cfg.AccountConcurrency, Reserved: p.reserved})
	var e *env
	switch d.Action {
	case envplan.Throttle:
		p.mu.Unlock()
		return invoke.Result{}, apierr.New(apierr.ResourceExhausted, d.Reason, "Rate Exceeded.")
	case envplan.Reuse:
		e = p.envs[d.Env]
		e.busy, e.state = true, "busy"
		p.mu.Unlock()
		return p.run(ctx, e, req, 0)
	}
	e = &env{id: newID(), key: key, fn: fn, busy: true, state: "starting", dead: make(chan struct{}), born: p.cfg.Now()}
	p.envs[e.id] = e
	p.mu.Unlock()
	began := p.cfg.Now()
	if ferr := p.startEnv(ctx, e, req.RequestID); ferr != nil {
		p.kill(e, "its start failed")
		var fe *envplan.FunctionError
		if errors.As(ferr, &fe) {
			return p.failed(e, req, fe, began, 0), nil
		}
		return invoke.Result{}, ferr
	}
	return p.run(ctx, e, req, p.cfg.Now().Sub(began))
}

// snapshot is the environments as envplan sees them; p.mu is held.
func (p *Pool) snapshot() []envplan.Env {
	out := make([]envplan.Env, 0, len(p.envs))
	for _, e := range p.envs {
		if e.state == "stopping" {
			continue
		}
		out = append(out, envplan.Env{ID: e.id, Key: e.key, Function: e.fn.Name, Busy: e.busy, IdleSince: e.idle, Started: e.born})
	}
	return out
}

// startEnv starts e's Runtime API and process and waits for the runtime's
// first call. An error is an *envplan.FunctionError when the function is at
// fault.
func (p *Pool) startEnv(ctx context.Context, e *env, requestID string) error {
	fn := e.fn
	img := fn.Image
	if fn.PackageType == "Zip" {
		if p.cfg.Images == nil {
			return &envplan.FunctionError{Type: "Runtime.Unsupported", Message: "berth's Lambda runner has no builder of Zip functions' images"}
		}
		var err error
		if img, err = p.cfg.Images(ctx, fn); err != nil {
			return err
		}
	}
	api, err := runtimeapi.Start(p.cfg.ListenHost + ":0")
	if err != nil {
		return apierr.New(apierr.Internal, "lambda.RuntimeAPI", "%s", err.Error())
	}
	e.api = api
	e.out = &logStream{pool: p, fn: fn, env: e.id}
	spec := Spec{ID: e.id, Function: fn, Image: img, Environment: p.environment(fn, e.id, api.Addr()), Output: e.out}
	ictx, cancel := context.WithTimeout(ctx, p.cfg.InitTimeout)
	defer cancel()
	inst, err := p.cfg.Launcher.Launch(ictx, spec)
	if err != nil {
		return fmt.Errorf("lambda: starting an execution environment: %w", err)
	}
	p.mu.Lock()
	e.inst = inst
	p.mu.Unlock()
	p.wg.Add(1)
	go p.watch(e)
	select {
	case <-api.Ready():
		return nil
	case out := <-api.InitError():
		return &envplan.FunctionError{Type: out.ErrorType, Message: initMessage(out.Payload)}
	case <-inst.Done():
		select { // an init error posted just before the exit says more
		case out := <-api.InitError():
			return &envplan.FunctionError{Type: out.ErrorType, Message: initMessage(out.Payload)}
		default:
		}
		return envplan.ExitError(requestID, inst.Exit())
	case <-ictx.Done():
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &envplan.FunctionError{Type: "Runtime.InitTimeout", Message: fmt.Sprintf("RequestId: %s Error: the execution environment did not start within %s", requestID, p.cfg.InitTimeout)}
	}
}

// initMessage is the errorMessage of an init error's document.
func initMessage(doc []byte) string {
	var d struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(doc, &d) == nil && d.ErrorMessage != "" {
		return d.ErrorMessage
	}
	return string(doc)
}

// environment is the environment an environment's process sees: the
// function's variables, then Lambda's (which win).
func (p *Pool) environment(fn invoke.Function, id, apiAddr string) map[string]string {
	env := make(map[string]string, len(fn.Environment)+16)
	for k, v := range fn.Environment {
		env[k] = v
	}
	handler := fn.Handler
	for k, v := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(int(fn.MemoryMB)),
		"AWS_LAMBDA_RUNTIME_API":          apiAddr,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      LogStreamName(p.cfg.Now(), fn.Version, id),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      p.cfg.Region,
		"AWS_DEFAULT_REGION":              p.cfg.Region,
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"TZ":                              ":UTC",
	} {
		env[k] = v
	}
	if handler != "" {
		env["_HANDLER"] = handler
	}
	if fn.Runtime != "" {
		env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	}
	return env
}

// LogStreamName is an environment's log stream, as Lambda names them:
// DATE/[VERSION]ID.
func LogStreamName(now time.Time, version, id string) string {
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + id
}

// run runs req in e, which is busy for it and ready.
func (p *Pool) run(ctx context.Context, e *env, req invoke.Request, initDur time.Duration) (invoke.Result, error) {
	fn := e.fn
	p.mu.Lock()
	if e.state == "starting" {
		e.state = "busy"
	}
	p.mu.Unlock()
	began := p.cfg.Now()
	e.out.begin(req.LogTail)
	e.out.line(envplan.StartLine(req.RequestID, fn.Version))
	timeout := fn.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		out runtimeapi.Outcome
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		out, err := e.api.Invoke(tctx, runtimeapi.Invocation{
			RequestID: req.RequestID, Payload: req.Payload, Deadline: began.Add(timeout), FunctionARN: fn.ARN,
			TraceID: withLineage(traceID(began), invoke.TraceFrom(ctx)), ClientContext: req.ClientContext,
		})
		ch <- answer{out, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-e.inst.Done():
		cancel()
		a = <-ch
		if a.err == nil {
			break // answered just before the exit
		}
		dur := p.cfg.Now().Sub(began)
		return p.failed(e, req, envplan.ExitError(req.RequestID, e.inst.Exit()), began, initDur, dur), nil
	}
	dur := p.cfg.Now().Sub(began)
	switch {
	case a.err == nil:
	case errors.Is(a.err, context.DeadlineExceeded) && ctx.Err() == nil:
		fe := envplan.Timeout(req.RequestID, timeout)
		e.out.line(p.cfg.Now().UTC().Format(time.RFC3339Nano) + " " + req.RequestID + " Task timed out after " + fmt.Sprintf("%.2f seconds", timeout.Seconds()))
		return p.finish(e, req, invoke.Result{Payload: runtimeapi.ErrorDocument(fe.Message, fe.Type), FunctionError: "Unhandled"}, dur, initDur, "timeout", true), nil
	default:
		p.kill(e, "its invocation was abandoned")
		if ctx.Err() != nil {
			return invoke.Result{}, ctx.Err()
		}
		return invoke.Result{}, fmt.Errorf("lambda: invocation %s: %w", req.RequestID, a.err)
	}
	res := invoke.Result{Payload: a.out.Payload}
	if a.out.Error {
		res.FunctionError = "Unhandled"
	}
	return p.finish(e, req, res, dur, initDur, "", false), nil
}

// failed ends req as the function error fe of an environment that is gone.
func (p *Pool) failed(e *env, req invoke.Request, fe *envplan.FunctionError, began time.Time, initDur time.Duration, dur ...time.Duration) invoke.Result {
	d := p.cfg.Now().Sub(began)
	if len(dur) > 0 {
		d = dur[0]
	}
	if e.out == nil {
		e.out = &logStream{pool: p, fn: e.fn, env: e.id}
	}
	if !e.out.begun() {
		e.out.begin(req.LogTail)
		e.out.line(envplan.StartLine(req.RequestID, e.fn.Version))
	}
	e.out.line(fmt.Sprintf("%s %s %s", req.RequestID, fe.Type, fe.Message))
	return p.finish(e, req, invoke.Result{Payload: runtimeapi.ErrorDocument(fe.Message, fe.Type), FunctionError: "Unhandled"}, d, initDur, "error", true)
}

// finish writes END and REPORT, and makes e idle again or stops it.
func (p *Pool) finish(e *env, req invoke.Request, res invoke.Result, dur, initDur time.Duration, status string, stop bool) invoke.Result {
	res.Duration, res.InitDuration = dur, initDur
	if m, ok := e.inst.(MemoryReporter); ok {
		res.MaxMemoryUsedMB = m.MaxMemoryUsedMB()
	}
	e.out.line(envplan.EndLine(req.RequestID))
	e.out.line(envplan.Report{RequestID: req.RequestID, Duration: dur, MemoryMB: e.fn.MemoryMB, MaxMemoryUsedMB: res.MaxMemoryUsedMB,
		InitDuration: initDur, Status: status}.Line())
	res.Log = e.out.end()
	if !stop && e.inst != nil {
		select {
		case <-e.inst.Done(): // it answered and exited
			stop = true
		default:
		}
	}
	if stop {
		p.kill(e, "its invocation ended with "+status)
		return res
	}
	p.mu.Lock()
	if e.state != "stopping" {
		e.busy, e.state, e.idle = false, "idle", p.cfg.Now()
	}
	p.mu.Unlock()
	return res
}

// kill drops e from the pool and stops its process and Runtime API, once.
func (p *Pool) kill(e *env, why string) {
	e.stop.Do(func() {
		p.mu.Lock()
		delete(p.envs, e.id)
		e.state = "stopping"
		inst := e.inst
		p.mu.Unlock()
		close(e.dead)
		if inst != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := inst.Stop(ctx); err != nil {
				p.log.Warn("lambda: stopping an execution environment", "env", e.id, "function", e.fn.ARN, "err", err)
			}
			cancel()
		}
		if e.api != nil {
			_ = e.api.Close()
		}
		p.log.Debug("lambda: execution environment stopped", "env", e.id, "function", e.fn.ARN, "why", why)
	})
}

// watch drops e when its process exits while it is idle (a busy one's
// invocation sees the exit itself).
func (p *Pool) watch(e *env) {
	defer p.wg.Done()
	select {
	case <-e.inst.Done():
	case <-e.dead:
		return
	}
	p.mu.Lock()
	idle := !e.busy
	p.mu.Unlock()
	if idle {
		p.kill(e, "its process exited")
	}
}

// reap stops the environments idle for too long.
func (p *Pool) reap() {
	defer p.wg.Done()
	every := min(max(p.cfg.Idle/4, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		snap, now := p.snapshot(), p.cfg.Now()
		ids := append(envplan.Idle(snap, now, p.cfg.Idle), envplan.Aged(snap, now, p.cfg.MaxLifetime)...)
		var idle []*env
		for _, id := range ids {
			if p.envs[id].state == "stopping" { // both idle and aged
				continue
			}
			e := p.envs[id]
			e.state = "stopping" // no longer chosen
			idle = append(idle, e)
		}
		p.mu.Unlock()
		for _, e := range idle {
			p.kill(e, "idle")
		}
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// withLineage is the trace header an event's invocation runs with: the
// event's own (from the call that made it, with its lineage counted), or a
// new one carrying the event's lineage when it had no root.
func withLineage(fresh, event string) string {
	switch {
	case event == "":
		return fresh
	case strings.Contains(event, "Root="):
		return event
	}
	return fresh + ";" + event
}

// traceID is an X-Ray trace header for an invocation at t.
func traceID(t time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", t.Unix(), hex.EncodeToString(b[:]), hex.EncodeToString(b[:8]))
}
