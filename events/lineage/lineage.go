// Package lineage is Lambda's recursive loop detection as berth does it: a
// chain of invocations (a function writes to S3 or puts an event on the bus,
// which invokes a function, which writes again ...) is followed by a counter
// in the X-Ray trace header that travels with it, "Lineage=<id>:<count>".
//
// Lambda gives each invocation a trace header (Lambda-Runtime-Trace-Id,
// which the runtime interface clients put in _X_AMZN_TRACE_ID); the AWS SDKs
// send it back as X-Amzn-Trace-Id on every call a function makes (their
// recursion detection middleware); S3 and EventBridge keep it with the
// events they make of such a call; and Lambda, asked to invoke a function
// for such an event, counts one more invocation in the chain. After
// MaxInvocations in one chain the next invocation is not made: it is
// logged with the chain, counted, and dropped, as Lambda stops a loop.
//
// A Guard does the counting in front of an invoke.EventSource.
package lineage

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/berth/berth/lambda/invoke"
)

// MaxInvocations is how many invocations one chain may make: Lambda stops a
// loop after about 16.
const MaxInvocations = 16

// Header is the HTTP header the AWS SDKs send the trace in.
const Header = "X-Amzn-Trace-Id"

// Parse reads a trace header's lineage: the chain's id and the count of
// invocations it made so far (0 for a header without one, or a count that
// does not parse).
func Parse(header string) (id string, count int) {
	for _, f := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || !strings.EqualFold(k, "Lineage") {
			continue
		}
		// Lineage=<id>:<count>; Lambda's own form may carry more fields
		// between them, the count is the last.
		i := strings.LastIndexByte(v, ':')
		if i < 0 {
			return "", 0
		}
		n, err := strconv.Atoi(v[i+1:])
		if err != nil || n < 0 {
			return "", 0
		}
		return v[:i], n
	}
	return "", 0
}

// Next is the trace header of one more invocation in the chain of header
// (the X-Amzn-Trace-Id of the call that made the event; empty for an event
// no function caused), started at origin when it is a new chain: its
// Root, Parent and Sampled kept, its lineage counted. count is the
// invocation's place in the chain (1 for the first).
func Next(header, origin string) (next string, id string, count int) {
	id, count = Parse(header)
	if id == "" {
		h := fnv.New32a()
		h.Write([]byte(origin))
		id = fmt.Sprintf("%08x", h.Sum32())
	}
	count++
	var kept []string
	for _, f := range strings.Split(header, ";") {
		f = strings.TrimSpace(f)
		k, _, _ := strings.Cut(f, "=")
		if f == "" || strings.EqualFold(k, "Lineage") {
			continue
		}
		kept = append(kept, f)
	}
	kept = append(kept, "Lineage="+id+":"+strconv.Itoa(count))
	return strings.Join(kept, ";"), id, count
}

// Guard counts each event invocation's place in its chain and stops those
// past MaxInvocations. It is safe for concurrent use.
type Guard struct {
	Next   invoke.EventSource
	Logger *slog.Logger
	// Max is the invocations a chain may make (MaxInvocations when 0).
	Max int
	// Stops counts the invocations stopped; guards in front of several
	// sources may share one (nil: the guard's own).
	Stops *atomic.Int64

	own atomic.Int64
}

var _ invoke.EventSource = (*Guard)(nil)

// Stopped is how many invocations the guard stopped.
func (g *Guard) Stopped() int64 { return g.stops().Load() }

func (g *Guard) stops() *atomic.Int64 {
	if g.Stops != nil {
		return g.Stops
	}
	return &g.own
}

// CheckPermission is Next's.
func (g *Guard) CheckPermission(ctx context.Context, req invoke.EventRequest) error {
	return g.Next.CheckPermission(ctx, req)
}

// InvokeEvent counts the invocation in its chain and passes it on with the
// chain's header, or, past the limit, logs the chain and drops it (nil:
// the event's source has nothing to retry).
func (g *Guard) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	max := g.Max
	if max <= 0 {
		max = MaxInvocations
	}
	next, id, count := Next(req.TraceHeader, req.SourceArn+" -> "+req.Function)
	if count > max {
		if err := g.Next.CheckPermission(ctx, req); err != nil {
			return err
		}
		g.stops().Add(1)
		log := g.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("lambda: recursive loop stopped", "chain", req.SourceArn+" -> "+req.Function+" -> "+req.SourceArn,
			"lineage", id, "invocations", count-1, "source", req.Principal, "function", req.Function)
		return nil
	}
	req.TraceHeader = next
	return g.Next.InvokeEvent(ctx, req)
}
