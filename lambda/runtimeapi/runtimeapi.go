// Package runtimeapi is the Lambda Runtime API (version 2018-06-01) that
// berth serves to one execution environment: the runtime in the environment
// long-polls GET /2018-06-01/runtime/invocation/next for an invocation and
// answers it with POST .../invocation/{id}/response or .../error, or reports a
// failed start with POST /2018-06-01/runtime/init/error.
//
// Each environment has a Server of its own on its own listener (127.0.0.1 and
// a port of its own: the environment's AWS_LAMBDA_RUNTIME_API), so that what a
// runtime posts can only be about its own invocations. A Server hands out one
// invocation at a time. A response posted twice, or for a request id that is
// not the invocation in progress, is refused (403 InvalidStateTransition, 400
// InvalidRequestID) and changes nothing; a response over 6 MB is refused with
// 413 and the invocation ends with Lambda's Function.ResponseSizeTooLarge.
//
// Goroutines: the HTTP server's (started by Start, ended by Close), and one
// per request it serves.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxResponse is the largest response a synchronous invocation may return
// (6 MB as Lambda counts it).
const MaxResponse = 6291556

// maxErrorBody bounds an error document a runtime posts.
const maxErrorBody = 1 << 20

// Prefix is the path every Runtime API call starts with.
const Prefix = "/2018-06-01/runtime/"

// Invocation is one invocation handed to the runtime.
type Invocation struct {
	RequestID     string
	Payload       []byte
	Deadline      time.Time
	FunctionARN   string
	TraceID       string
	ClientContext string
}

// Outcome is how the runtime ended an invocation (or its start).
type Outcome struct {
	// Payload is the response, or the error document when Error is set.
	Payload []byte
	// Error is set when the runtime posted to .../error (or init/error), or
	// the response was refused as too large.
	Error bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type header, or the
	// errorType berth set.
	ErrorType string
}

// ErrClosed is returned by Invoke once the Server is closed.
var ErrClosed = errors.New("runtimeapi: environment closed")

// ErrBusy is returned by Invoke while another invocation is in progress.
var ErrBusy = errors.New("runtimeapi: environment busy")

// call is one invocation's passage through the Server.
type call struct {
	inv  Invocation
	done chan Outcome // buffered 1; written once
}

// Server is the Runtime API of one execution environment.
type Server struct {
	ln  net.Listener
	srv *http.Server

	offer  chan *call // an invocation waiting for the runtime's next
	ready  chan struct{}
	closed chan struct{}
	initCh chan Outcome // buffered 1: the first init error

	mu        sync.Mutex
	busy      bool  // an invocation is offered or in progress
	current   *call // delivered by next, not yet answered
	answered  map[string]bool
	readyOnce sync.Once
	closeOnce sync.Once
	initOnce  sync.Once
}

// Start listens on addr ("127.0.0.1:0" for a port of its own) and serves.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: listen: %w", err)
	}
	s := &Server{
		ln:       ln,
		offer:    make(chan *call),
		ready:    make(chan struct{}),
		closed:   make(chan struct{}),
		initCh:   make(chan Outcome, 1),
		answered: map[string]bool{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the host:port the environment's AWS_LAMBDA_RUNTIME_API names.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed when the runtime first asks for an invocation: its
// initialization is over.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// InitError yields the error the runtime posted to init/error, once.
func (s *Server) InitError() <-chan Outcome { return s.initCh }

// Close stops serving; a pending Invoke returns ErrClosed and a waiting next
// ends.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err = s.srv.Shutdown(ctx); err != nil {
			err = s.srv.Close()
		}
	})
	return err
}

// Invoke hands inv to the runtime's next call and waits for its outcome,
// until ctx ends (the caller's deadline: the function's timeout) or the
// Server closes. One invocation at a time: ErrBusy otherwise. After ctx ended
// the invocation is abandoned: whatever the runtime posts for it later is
// accepted and dropped (the caller stops the environment).
func (s *Server) Invoke(ctx context.Context, inv Invocation) (Outcome, error) {
	s.mu.Lock()
	if s.busy {
		s.mu.Unlock()
		return Outcome{}, ErrBusy
	}
	s.busy = true
	s.mu.Unlock()
	c := &call{inv: inv, done: make(chan Outcome, 1)}
	select {
	case s.offer <- c:
	case <-ctx.Done():
		s.release(nil)
		return Outcome{}, ctx.Err()
	case <-s.closed:
		return Outcome{}, ErrClosed
	}
	select {
	case out := <-c.done:
		return out, nil
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-s.closed:
		return Outcome{}, ErrClosed
	}
}

// release ends the invocation in progress (c, or none delivered yet).
func (s *Server) release(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != nil {
		s.answered[c.inv.RequestID] = true
	}
	if s.current == c {
		s.current = nil
	}
	s.busy = false
}

// ServeHTTP routes the Runtime API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		writeError(w, http.StatusNotFound, "InvalidPath", "unknown path "+r.URL.Path)
		return
	}
	switch {
	case rest == "invocation/next" && r.Method == http.MethodGet:
		s.next(w, r)
	case rest == "init/error" && r.Method == http.MethodPost:
		s.initError(w, r)
	case strings.HasPrefix(rest, "invocation/") && r.Method == http.MethodPost:
		id, kind, ok := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
		if !ok || id == "" || (kind != "response" && kind != "error") {
			writeError(w, http.StatusNotFound, "InvalidPath", "unknown path "+r.URL.Path)
			return
		}
		s.answer(w, r, id, kind == "error")
	default:
		writeError(w, http.StatusNotFound, "InvalidPath", "unknown path "+r.URL.Path)
	}
}

// next long-polls for the next invocation.
func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() { close(s.ready) })
	s.mu.Lock()
	if s.current != nil {
		id := s.current.inv.RequestID
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Invoking to Invoking failed: invocation "+id+" has no response yet")
		return
	}
	s.mu.Unlock()
	var c *call
	select {
	case c = <-s.offer:
	case <-r.Context().Done():
		return
	case <-s.closed:
		writeError(w, http.StatusInternalServerError, "Runtime.Shutdown", "the environment is shutting down")
		return
	}
	s.mu.Lock()
	s.current = c
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", c.inv.RequestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(c.inv.Deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", c.inv.FunctionARN)
	if c.inv.TraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", c.inv.TraceID)
	}
	if c.inv.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", c.inv.ClientContext)
	}
	h.Set("Content-Length", strconv.Itoa(len(c.inv.Payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.inv.Payload)
}

// answer takes a response or an error for invocation id.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	limit := int64(MaxResponse)
	if isError {
		limit = maxErrorBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return
	}
	s.mu.Lock()
	c := s.current
	switch {
	case c != nil && c.inv.RequestID == id:
	case s.answered[id]:
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to ResponseSent failed: invocation "+id+" was answered already")
		return
	default:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID: "+id+" is not the invocation in progress")
		return
	}
	s.answered[id] = true
	s.current = nil
	s.busy = false
	s.mu.Unlock()
	var out Outcome
	switch {
	case int64(len(body)) > limit && !isError:
		out = Outcome{Error: true, ErrorType: "Function.ResponseSizeTooLarge",
			Payload: ErrorDocument(fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponse), "Function.ResponseSizeTooLarge")}
		c.done <- out
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponse))
		return
	case isError:
		out = errorOutcome(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	default:
		out = Outcome{Payload: body}
	}
	c.done <- out
	writeAccepted(w)
}

// initError takes the error of a runtime that failed to start.
func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return
	}
	out := errorOutcome(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
	sent := false
	s.initOnce.Do(func() { s.initCh <- out; sent = true })
	if !sent {
		writeError(w, http.StatusForbidden, "InvalidStateTransition", "State transition from InitError to InitError failed")
		return
	}
	writeAccepted(w)
}

// errorOutcome is an error a runtime posted: its document when it is one,
// else one made of the error type header, as Lambda does.
func errorOutcome(body []byte, errType string) Outcome {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if len(body) > 0 && json.Unmarshal(body, &doc) == nil && (doc.ErrorType != "" || doc.ErrorMessage != "") {
		if errType == "" {
			errType = doc.ErrorType
		}
		return Outcome{Payload: body, Error: true, ErrorType: errType}
	}
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	msg := "Unknown application error occurred"
	if len(body) > 0 {
		msg = string(body)
	}
	return Outcome{Payload: ErrorDocument(msg, errType), Error: true, ErrorType: errType}
}

// ErrorDocument is Lambda's error document {"errorMessage": ..., "errorType": ...}.
func ErrorDocument(message, errType string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errType})
	return b
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(ErrorDocument(msg, errType))
}
