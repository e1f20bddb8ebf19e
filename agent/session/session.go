// Package session is the agent's side of its session with the control plane:
// it registers the instance, heartbeats, hands assignments over in sequence
// (asking for a resync when one is missed), and sends task state changes in
// batches until each is acknowledged, reconnecting with back-off when the
// stream breaks. It knows nothing of containers: the caller's Assign runs the
// tasks and the caller's engine calls Report. A LogsRequest is answered by the
// caller's Logs on a TaskLogs call of its own, beside the session stream, and
// an ExecRequest by the caller's Exec on a TaskExec call.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// ErrJoinRefused is returned by Run when the control plane refuses the join
// token: retrying cannot help.
var ErrJoinRefused = errors.New("the control plane refused the join token")

// ErrRegistrationRefused is returned by Run when the control plane refuses
// the registration itself (an unknown cluster, bad resources): retrying
// cannot help either.
var ErrRegistrationRefused = errors.New("the control plane refused the registration")

// Config is what a session needs.
type Config struct {
	// ControlPlane is the control plane's gRPC address.
	ControlPlane string
	// JoinToken of the form BERTH-1-<CA digest>-<secret> makes the session
	// join the cluster (pin its CA, get a certificate) and speak mutual TLS;
	// an older plain token is sent as a bearer token over plain text.
	JoinToken string
	// CertDir keeps the agent's key, certificate and pinned CA (the agent's
	// data dir); empty keeps them in memory, so that each Run joins anew.
	CertDir string
	// Register returns the registration to send at each (re)connect.
	Register func(ctx context.Context) (*berthv1.RegisterInstance, error)
	// Registered is called with the control plane's answer, before any
	// assignment of that session is handed over.
	Registered func(ctx context.Context, r *berthv1.Registered) error
	// Assign takes the instance's assignments, in sequence.
	Assign func(ctx context.Context, a *berthv1.Assignments) error
	// Logs answers a LogsRequest: it sends the output the request asks for
	// and returns when it is all sent, or when ctx ends (the caller hung up,
	// the session ended). It runs on a goroutine of its own; send is for that
	// goroutine only. Nil refuses every request.
	Logs func(ctx context.Context, req *berthv1.LogsRequest, send func(*berthv1.TaskLogsChunk) error) error
	// Exec answers an ExecRequest: it runs the command with the stream's
	// input and output and returns its exit code once it has exited, or
	// returns when ctx ends (the caller hung up, the session ended), having
	// ended the command. It runs on a goroutine of its own. Nil refuses
	// every request.
	Exec func(ctx context.Context, req *berthv1.ExecRequest, stream ExecStream) (int32, error)
	// Credentials takes a running task's renewed role credentials, on the
	// session's goroutine: it must not block. Nil drops them.
	Credentials func(*berthv1.TaskCredentials)
	// Heartbeat, if set, fills in each heartbeat before it is sent (the
	// tasks' usage), on the session's goroutine: it must not block.
	Heartbeat func(*berthv1.Heartbeat)
	// BatchWindow is how long state changes gather before they are sent
	// (default 100 ms).
	BatchWindow time.Duration
	Logger      *slog.Logger
}

// Session is a running session; Report is safe for concurrent use.
type Session struct {
	cfg Config

	mu      sync.Mutex
	pending []*berthv1.TaskStateChange // reported, not yet sent
	unacked []*berthv1.TaskStateChanges
	batch   uint64
	wake    chan struct{}

	client berthv1.AgentSessionsClient // set by Run
	creds  *creds                      // set by Run for a join token
	logs   sync.WaitGroup              // the goroutines answering LogsRequests and ExecRequests
}

// New returns a session; Run it.
func New(cfg Config) *Session {
	if cfg.BatchWindow <= 0 {
		cfg.BatchWindow = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Session{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Report queues a task state change for the control plane. It never blocks.
func (s *Session) Report(c *berthv1.TaskStateChange) {
	s.mu.Lock()
	s.pending = append(s.pending, c)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// connectParams caps gRPC's own back-off between connection attempts at the
// session's: gRPC's default grows to 2 minutes, so agents that had waited out
// a 30-second restart of the control plane came back up to a minute and a half
// after it served again (10,000 agents: 118 s; with this cap, see bench/scale).
var connectParams = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 20 * time.Second,
}

// Run keeps a session open until ctx ends, reconnecting with back-off (100 ms
// doubling to 5 s) after a break. It returns ErrJoinRefused at once if the
// token is refused, and ErrRegistrationRefused if the registration is.
func (s *Session) Run(ctx context.Context) error {
	transport, err := s.transport(ctx)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(s.cfg.ControlPlane, transport, grpc.WithConnectParams(connectParams))
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.creds != nil {
		renewCtx, stopRenew := context.WithCancel(ctx)
		renewed := make(chan struct{})
		go func() { defer close(renewed); s.renew(renewCtx, conn) }()
		defer func() { stopRenew(); <-renewed }()
	}
	client := berthv1.NewAgentSessionsClient(conn)
	s.client = client
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		registered, err := s.once(ctx, client)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch code := status.Code(err); {
		case code == codes.Unauthenticated, code == codes.PermissionDenied && !registered:
			return fmt.Errorf("%w: %v", ErrJoinRefused, status.Convert(err).Message())
		case !registered && (code == codes.NotFound || code == codes.InvalidArgument):
			return fmt.Errorf("%w: %v", ErrRegistrationRefused, status.Convert(err).Message())
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond // it had been up a while
		}
		s.cfg.Logger.Warn("session with the control plane ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// once runs one session from connect to break, and says whether it got as
// far as being registered.
func (s *Session) once(ctx context.Context, client berthv1.AgentSessionsClient) (bool, error) {
	if s.creds == nil {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.cfg.JoinToken)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Session(ctx)
	if err != nil {
		return false, err
	}
	reg, err := s.cfg.Register(ctx)
	if err != nil {
		return false, err
	}
	if err := stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Register{Register: reg}}); err != nil {
		return false, err
	}
	first, err := stream.Recv()
	if err != nil {
		return false, err
	}
	registered := first.GetRegistered()
	if registered == nil {
		return false, fmt.Errorf("the control plane answered register with %T", first.GetMessage())
	}
	if err := s.cfg.Registered(ctx, registered); err != nil {
		return true, err
	}
	s.cfg.Logger.Info("registered", "container_instance", registered.ContainerInstanceArn)
	return true, s.serve(ctx, stream, time.Duration(registered.HeartbeatPeriodMs)*time.Millisecond)
}

// serve runs an open session: the receiving goroutine hands messages over;
// this one sends heartbeats and batches.
func (s *Session) serve(ctx context.Context, stream berthv1.AgentSessions_SessionClient, period time.Duration) error {
	defer s.logs.Wait() // after cancel, which ends them
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recvErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	sendMu := &sync.Mutex{} // gRPC allows one sender at a time
	send := func(m *berthv1.AgentMessage) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		recvErr <- s.receive(ctx, stream, send)
		cancel()
	}()
	if err := s.resendUnacked(send); err != nil {
		return err
	}
	if err := s.sendPending(send); err != nil { // reported while disconnected
		return err
	}
	heartbeat := time.NewTicker(period)
	defer heartbeat.Stop()
	var flush <-chan time.Time // armed when a change arrives: a burst gathers
	for {
		select {
		case <-ctx.Done():
			return <-recvErr
		case <-heartbeat.C:
			hb := &berthv1.Heartbeat{}
			if s.cfg.Heartbeat != nil {
				s.cfg.Heartbeat(hb)
			}
			if err := send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Heartbeat{Heartbeat: hb}}); err != nil {
				return err
			}
		case <-s.wake:
			if flush == nil {
				flush = time.After(s.cfg.BatchWindow)
			}
		case <-flush:
			flush = nil
			if err := s.sendPending(send); err != nil {
				return err
			}
		}
	}
}

// receive hands assignments to Assign in sequence and removes acknowledged
// batches, until the stream ends.
func (s *Session) receive(ctx context.Context, stream berthv1.AgentSessions_SessionClient, send func(*berthv1.AgentMessage) error) error {
	var last uint64
	inSync := false
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return errors.New("the control plane closed the session")
		}
		if err != nil {
			return err
		}
		switch msg := m.GetMessage().(type) {
		case *berthv1.ControlPlaneMessage_Assignments:
			a := msg.Assignments
			if !a.Full && (!inSync || a.Sequence != last+1) {
				inSync = false
				if err := send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Resync{Resync: &berthv1.Resync{LastSequence: last}}}); err != nil {
					return err
				}
				continue
			}
			last, inSync = a.Sequence, true
			if err := s.cfg.Assign(ctx, a); err != nil {
				return err
			}
		case *berthv1.ControlPlaneMessage_Ack:
			s.acked(msg.Ack.Batch)
		case *berthv1.ControlPlaneMessage_LogsRequest:
			s.startLogs(ctx, msg.LogsRequest)
		case *berthv1.ControlPlaneMessage_ExecRequest:
			s.startExec(ctx, msg.ExecRequest)
		case *berthv1.ControlPlaneMessage_TaskCredentials:
			if s.cfg.Credentials != nil {
				s.cfg.Credentials(msg.TaskCredentials)
			}
		}
	}
}

// sendPending moves what was reported into a new batch and sends it.
func (s *Session) sendPending(send func(*berthv1.AgentMessage) error) error {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	s.batch++
	b := &berthv1.TaskStateChanges{Batch: s.batch, Tasks: s.pending}
	s.pending = nil
	s.unacked = append(s.unacked, b)
	s.mu.Unlock()
	return send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: b}})
}

// resendUnacked sends again, in order, the batches a broken session left
// unacknowledged (applying a change twice is harmless).
func (s *Session) resendUnacked(send func(*berthv1.AgentMessage) error) error {
	s.mu.Lock()
	batches := append([]*berthv1.TaskStateChanges(nil), s.unacked...)
	s.mu.Unlock()
	for _, b := range batches {
		if err := send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: b}}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) acked(batch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.unacked) > 0 && s.unacked[0].Batch <= batch {
		s.unacked = s.unacked[1:]
	}
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }

// refused says whether a join's error is a refusal that retrying cannot
// change.
func refused(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.AlreadyExists, codes.InvalidArgument:
		return true
	}
	return false
}
