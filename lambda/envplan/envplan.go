// Package envplan holds the pure decisions of Lambda's execution
// environments, with no I/O: whether an invocation reuses a warm environment,
// starts one (a cold start) or is throttled by the function's reserved
// concurrency or the account's; which idle environments to stop (scale to
// zero); what a dead environment's error is (Runtime.ExitError,
// Runtime.OutOfMemory, Runtime.InvalidEntrypoint), a timeout's
// (Sandbox.Timedout) and the START / END / REPORT lines of an invocation.
// Package environments runs them.
package envplan

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Env is what a decision needs of one execution environment.
type Env struct {
	ID string
	// Key tells apart what an environment runs: the same function version,
	// code and configuration reuse it.
	Key string
	// Function is the function's name (reserved concurrency is the
	// function's, all versions together).
	Function string
	// Busy: an invocation runs in it, or it is starting for one.
	Busy bool
	// IdleSince is when its last invocation ended (or it became ready).
	IdleSince time.Time
	// Started is when it was asked for (zero: unknown).
	Started time.Time
}

// Action is what an invocation gets.
type Action int

const (
	// Reuse runs the invocation in the warm idle environment Decision.Env.
	Reuse Action = iota
	// Start starts a new environment for it: a cold start.
	Start
	// Throttle refuses it (TooManyRequestsException with Decision.Reason).
	Throttle
)

func (a Action) String() string {
	return [...]string{"reuse", "start", "throttle"}[a]
}

// Reasons of a throttle, as Lambda names them.
const (
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonAccount  = "ConcurrentInvocationLimitExceeded"
)

// Decision is what to do with one invocation.
type Decision struct {
	Action Action
	Env    string // Reuse: the environment
	Reason string // Throttle: why
}

// Limits are the concurrency limits an invocation is held to.
type Limits struct {
	// Account is the account's concurrent executions (1,000 in Lambda).
	Account int
	// Reserved is each function's reserved concurrency, for the functions
	// that have one (a function absent has none): the function is held to it,
	// and the others share what is left of Account.
	Reserved map[string]int32
}

// Decide decides for an invocation of function (its environments' key) over
// envs, all of the account's environments. Concurrency counts busy
// environments (running or starting for an invocation), as Lambda counts
// concurrent executions; an idle one counts for nothing. A warm idle
// environment of the same key is reused first (the most recently used, so
// that the others grow idle and are stopped); else a new one is started when
// the limits allow: the function's reservation when it has one, else the
// account's limit less all reservations (Lambda's unreserved pool), and the
// account's limit overall.
func Decide(envs []Env, key, function string, lim Limits) Decision {
	var (
		best        *Env
		busyFn      int
		busyAll     int
		busyUnres   int
		reservedSum int
	)
	for _, r := range lim.Reserved {
		reservedSum += int(max(r, 0))
	}
	for i := range envs {
		e := &envs[i]
		if e.Busy {
			busyAll++
			if e.Function == function {
				busyFn++
			}
			if _, ok := lim.Reserved[e.Function]; !ok {
				busyUnres++
			}
			continue
		}
		if e.Key == key && (best == nil || e.IdleSince.After(best.IdleSince)) {
			best = e
		}
	}
	if r, ok := lim.Reserved[function]; ok {
		if busyFn >= int(r) {
			return Decision{Action: Throttle, Reason: ReasonReserved}
		}
	} else if busyUnres >= lim.Account-reservedSum {
		return Decision{Action: Throttle, Reason: ReasonAccount}
	}
	if busyAll >= lim.Account {
		return Decision{Action: Throttle, Reason: ReasonAccount}
	}
	if best != nil {
		return Decision{Action: Reuse, Env: best.ID}
	}
	return Decision{Action: Start}
}

// Idle returns the environments idle for idle or longer at now: to stop.
func Idle(envs []Env, now time.Time, idle time.Duration) []string {
	var ids []string
	for _, e := range envs {
		if !e.Busy && !e.IdleSince.IsZero() && now.Sub(e.IdleSince) >= idle {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Aged returns the idle environments started maxLifetime or longer ago at
// now: to stop, whatever their idleness (Lambda recycles its environments
// every few hours; berth's credentials in an environment's variables cannot
// be renewed, and last as long as an environment may). A busy one is left
// to finish its invocation. maxLifetime <= 0: none.
func Aged(envs []Env, now time.Time, maxLifetime time.Duration) []string {
	if maxLifetime <= 0 {
		return nil
	}
	var ids []string
	for _, e := range envs {
		if !e.Busy && !e.Started.IsZero() && now.Sub(e.Started) >= maxLifetime {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// Exit is how an environment's process ended.
type Exit struct {
	// Code is its exit code (137 when killed).
	Code int
	// OOMKilled: killed past its memory limit.
	OOMKilled bool
	// StartFailed: the container could not start (no such entrypoint, not
	// executable); Reason says why.
	StartFailed bool
	Reason      string
}

// FunctionError is an error an invocation returns as a function error
// (errorType, errorMessage of Lambda's error document).
type FunctionError struct {
	Type, Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// ExitError is the function error of an environment that died while it
// started or ran invocation requestID, as Lambda words it.
func ExitError(requestID string, e Exit) *FunctionError {
	switch {
	case e.OOMKilled:
		return &FunctionError{"Runtime.OutOfMemory", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed", requestID)}
	case e.StartFailed:
		reason := e.Reason
		if reason == "" {
			reason = "the entrypoint could not be started"
		}
		return &FunctionError{"Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: %s", requestID, reason)}
	case e.Code > 128 && e.Code < 160:
		return &FunctionError{"Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: %s", requestID, signalName(e.Code-128))}
	default:
		return &FunctionError{"Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: exit status %d", requestID, e.Code)}
	}
}

func signalName(n int) string {
	switch n {
	case 9:
		return "killed"
	case 15:
		return "terminated"
	case 6:
		return "aborted"
	case 11:
		return "segmentation fault"
	}
	return fmt.Sprintf("signal %d", n)
}

// Timeout is the function error of an invocation past the function's
// timeout, as Lambda words it ("Sandbox.Timedout" since 2023; the seconds
// with two decimals).
func Timeout(requestID string, timeout time.Duration) *FunctionError {
	return &FunctionError{"Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, timeout.Seconds())}
}

// BilledMS is the billed duration: d rounded up to the millisecond (Lambda
// bills by the millisecond since 2020), at least 1 ms.
func BilledMS(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	return max(ms, 1)
}

// StartLine is the START line of an invocation.
func StartLine(requestID, version string) string {
	return fmt.Sprintf("START RequestId: %s Version: %s", requestID, version)
}

// EndLine is the END line of an invocation.
func EndLine(requestID string) string {
	return "END RequestId: " + requestID
}

// Report is what a REPORT line says.
type Report struct {
	RequestID       string
	Duration        time.Duration
	MemoryMB        int32
	MaxMemoryUsedMB int32
	// InitDuration is the cold start's; 0 for a warm invocation (left out).
	InitDuration time.Duration
	// Status is "timeout" or "error" when the invocation ended so (Lambda
	// adds "Status: timeout").
	Status string
}

// Line is the REPORT line as Lambda writes it (tab-separated fields, the
// durations in ms with two decimals, Billed Duration whole).
func (r Report) Line() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %s\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, ms(r.Duration), BilledMS(r.Duration), r.MemoryMB, r.MaxMemoryUsedMB)
	if r.InitDuration > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %s", ms(r.InitDuration))
	}
	if r.Status != "" {
		fmt.Fprintf(&b, "\tStatus: %s", r.Status)
	}
	return b.String()
}

// CPUUnits is the CPU of an environment of memoryMB, in ECS's units (1,024
// a vCPU): in proportion to memory, as Lambda's 1,769 MB = 1 vCPU, at least
// 128 units (ECS's smallest useful share).
func CPUUnits(memoryMB int32) int32 {
	return max(int32(int64(memoryMB)*1024/1769), 128)
}
