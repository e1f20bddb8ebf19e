package dispatcher

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// registerWithin is how long a new stream may take to send RegisterInstance.
const registerWithin = 10 * time.Second

// inboxBuffer is how many agent messages may wait for the session's loop.
const inboxBuffer = 16

// changeBuffer is how many task changes may wait for a session before it is
// sent the full set instead.
const changeBuffer = 64

// session is one agent's open stream.
type session struct {
	cluster, id string
	ec2ID       string
	key         string
	bound       bool // the agent's certificate names the instance
	stream      berthv1.AgentSessions_SessionServer

	seen *atomic.Int64 // unix nanoseconds of the last message received, kept by the receiving goroutine

	// What waits for the session's loop, which wake (1 buffered) tells to
	// look. One channel and a few fields under mu, rather than a channel
	// each: 10,000 sessions wait at once, and each channel (its buffer, and
	// what a goroutine blocked on it holds) costs every one of them.
	wake    chan struct{}
	mu      sync.Mutex
	pending pending

	// Owned by the session's goroutine.
	seq  uint64
	sent map[string]string // task id -> desiredStatus the agent was sent
}

// pending is what waits for a session's loop.
type pending struct {
	changes []*berthv1.TaskRecord          // committed task changes, at most changeBuffer
	resync  bool                           // send the full set (instead of changes)
	control []*berthv1.ControlPlaneMessage // other messages to send, such as LogsRequests; at most controlBuffer
	cut     bool                           // end the session
}

func (s *session) lastSeen() time.Time { return time.Unix(0, s.seen.Load()) }

// signal tells the session's loop that something is pending.
func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// notify hands a committed task change to the session; if it has fallen too
// far behind, it is sent the full set instead.
func (s *session) notify(rec *berthv1.TaskRecord) {
	s.mu.Lock()
	if p := &s.pending; !p.resync && len(p.changes) < changeBuffer {
		p.changes = append(p.changes, rec)
	} else {
		p.changes, p.resync = nil, true
	}
	s.mu.Unlock()
	s.signal()
}

func (s *session) requestResync() {
	s.mu.Lock()
	s.pending.changes, s.pending.resync = nil, true
	s.mu.Unlock()
	s.signal()
}

// sendControl queues a message for the agent; false if controlBuffer are
// already waiting.
func (s *session) sendControl(m *berthv1.ControlPlaneMessage) bool {
	s.mu.Lock()
	ok := len(s.pending.control) < controlBuffer
	if ok {
		s.pending.control = append(s.pending.control, m)
	}
	s.mu.Unlock()
	if ok {
		s.signal()
	}
	return ok
}

// cutOff ends the session (silent past the TTL, or superseded).
func (s *session) cutOff() {
	s.mu.Lock()
	s.pending.cut = true
	s.mu.Unlock()
	s.signal()
}

// take empties what is pending and returns it.
func (s *session) take() pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = pending{cut: p.cut}
	return p
}

// Session serves one agent's stream.
func (d *Dispatcher) Session(stream berthv1.AgentSessions_SessionServer) error {
	ctx := stream.Context()
	// The inbox holds a few messages so that receiving (and so heartbeats)
	// goes on while the session's loop waits for a store commit.
	inbox := make(chan *berthv1.AgentMessage, inboxBuffer)
	recvErr := make(chan error, 1)
	seen := new(atomic.Int64)
	// The instance's ARN once registered, for the heartbeats' metrics.
	instance := new(atomic.Pointer[string])
	go func() { // ends when the stream does, which returning from Session ensures
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			// Liveness is the agent sending, whatever the session's loop is
			// busy with (a slow store commit must not cut agents off).
			seen.Store(d.cfg.Now().UnixNano())
			if hb := m.GetHeartbeat(); hb != nil {
				d.heartbeats.Add(1)
				if arn := instance.Load(); arn != nil && len(hb.GetTaskMetrics()) > 0 && d.cfg.Metrics != nil {
					d.cfg.Metrics(*arn, hb.GetTaskMetrics())
				}
				continue
			}
			select {
			case inbox <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	reg, err := awaitRegister(ctx, inbox, recvErr)
	if err != nil {
		return err
	}
	s, rec, err := d.open(ctx, stream, reg, seen)
	if err != nil {
		return err
	}
	defer d.close(s)
	instanceARN := d.cfg.ARNs.ContainerInstance(rec.Cluster, rec.Id)
	instance.Store(&instanceARN)
	err = stream.Send(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_Registered{Registered: &berthv1.Registered{
		ContainerInstanceArn: instanceARN,
		SessionId:            newSessionID(),
		HeartbeatPeriodMs:    int32(d.cfg.HeartbeatPeriod / time.Millisecond),
	}}})
	if err != nil {
		return err
	}
	d.cfg.Logger.Info("agent session opened", "cluster", s.cluster, "instance", s.id)
	if err := d.sendFull(s); err != nil {
		return err
	}
	return d.serve(ctx, s, inbox, recvErr)
}

// serve is the session's loop: messages in, assignments and acks out.
func (d *Dispatcher) serve(ctx context.Context, s *session, inbox <-chan *berthv1.AgentMessage, recvErr <-chan error) error {
	for {
		var err error
		select {
		case m := <-inbox:
			err = d.handle(ctx, s, m)
		case err = <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
		case <-s.wake:
			err = d.sendPending(s)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
}

// sendPending sends what is pending: the full set, or the changes, then the
// other messages; or ends the session if it is cut off.
func (d *Dispatcher) sendPending(s *session) error {
	p := s.take()
	if p.cut {
		return status.Error(codes.Aborted, "session ended: no heartbeat within the TTL, or a newer session of the same instance")
	}
	if p.resync {
		if err := d.sendFull(s); err != nil {
			return err
		}
	}
	for _, rec := range p.changes {
		if err := d.sendChange(s, rec); err != nil {
			return err
		}
	}
	for _, m := range p.control {
		if err := s.stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func awaitRegister(ctx context.Context, inbox <-chan *berthv1.AgentMessage, recvErr <-chan error) (*berthv1.RegisterInstance, error) {
	timer := time.NewTimer(registerWithin)
	defer timer.Stop()
	select {
	case m := <-inbox:
		if reg := m.GetRegister(); reg != nil {
			return reg, nil
		}
		return nil, status.Error(codes.FailedPrecondition, "the first message of a session must be register")
	case err := <-recvErr:
		return nil, err
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no register within %s", registerWithin)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// handle acts on one agent message (heartbeats stop at the receiving
// goroutine).
func (d *Dispatcher) handle(ctx context.Context, s *session, m *berthv1.AgentMessage) error {
	switch msg := m.GetMessage().(type) {
	case *berthv1.AgentMessage_Resync:
		return d.sendFull(s)
	case *berthv1.AgentMessage_StateChanges:
		return d.applyStateChanges(ctx, s, msg.StateChanges)
	case *berthv1.AgentMessage_Register:
		return status.Error(codes.FailedPrecondition, "register is the first message of a session only")
	default:
		return status.Errorf(codes.InvalidArgument, "unknown agent message %T", msg)
	}
}

// applyStateChanges stores an agent's report of its own instance's tasks
// and acknowledges it (reports of other tasks are refused and logged).
func (d *Dispatcher) applyStateChanges(ctx context.Context, s *session, batch *berthv1.TaskStateChanges) error {
	changes := d.ownChanges(s, batch.GetTasks())
	if len(changes) == 0 { // nothing of its own: acknowledged, nothing stored
		return s.stream.Send(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_Ack{
			Ack: &berthv1.StateChangesAck{Batch: batch.GetBatch()},
		}})
	}
	_, err := d.cfg.Store.Apply(ctx, &berthv1.Command{At: epoch(d.cfg.Now()), Change: &berthv1.Command_UpdateTaskStates{
		UpdateTaskStates: &berthv1.UpdateTaskStatesCommand{Cluster: s.cluster, InstanceId: s.id, Changes: changes},
	}})
	if err != nil {
		return err
	}
	return s.stream.Send(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_Ack{
		Ack: &berthv1.StateChangesAck{Batch: batch.GetBatch()},
	}})
}

// sendFull sends every task of the instance that is not STOPPED.
func (d *Dispatcher) sendFull(s *session) error {
	tasks := d.cfg.Store.LiveTasksOn(s.cluster, s.id)
	s.sent = make(map[string]string, len(tasks))
	msg := &berthv1.Assignments{Full: true}
	for _, t := range tasks {
		a, err := d.assignment(t)
		if err != nil {
			return err
		}
		desired := t.Task.DesiredStatus
		if t.Task.GetLastStatus() == store.TaskDeactivating { // its targets drain: it runs on meanwhile
			a.Task = proto.Clone(t.Task).(*berthv1.Task)
			a.Task.DesiredStatus, desired = store.TaskRunning, store.TaskRunning
		}
		msg.Tasks = append(msg.Tasks, a)
		s.sent[t.Id] = desired
	}
	return d.sendAssignments(s, msg)
}

// sendChange sends a task whose desired state the agent does not know yet.
func (d *Dispatcher) sendChange(s *session, t *berthv1.TaskRecord) error {
	if t.Task.GetLastStatus() == store.TaskStopped {
		delete(s.sent, t.Id)
		return nil
	}
	if s.sent[t.Id] == t.Task.DesiredStatus {
		return nil
	}
	if t.Task.GetLastStatus() == store.TaskDeactivating {
		return nil // its targets drain: the stop goes out when it is STOPPING
	}
	a, err := d.assignment(t)
	if err != nil {
		return err
	}
	s.sent[t.Id] = t.Task.DesiredStatus
	return d.sendAssignments(s, &berthv1.Assignments{Tasks: []*berthv1.TaskAssignment{a}})
}

func (d *Dispatcher) sendAssignments(s *session, msg *berthv1.Assignments) error {
	s.seq++
	msg.Sequence = s.seq
	return s.stream.Send(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_Assignments{Assignments: msg}})
}

// assignment is a task with its task definition.
func (d *Dispatcher) assignment(t *berthv1.TaskRecord) (*berthv1.TaskAssignment, error) {
	td, err := d.cfg.Store.TaskDefinition(t.Family, t.Revision)
	if err != nil {
		return nil, err
	}
	limits := t.Limits
	if limits == nil { // a task placed before tasks kept their limits
		limits = placement.Limits(td.TaskDefinition, t.Task.GetOverrides())
	}
	a := &berthv1.TaskAssignment{Task: t.Task, TaskDefinition: td.TaskDefinition, Limits: limits}
	if d.cfg.ImagePulls != nil && t.Task.GetDesiredStatus() != "STOPPED" {
		pulls, err := d.cfg.ImagePulls(context.Background(), td.TaskDefinition)
		if err != nil {
			a.ImagePullsError = err.Error()
		}
		a.ImagePulls = pulls
	}
	if d.cfg.Inside != nil && t.Task.GetDesiredStatus() != "STOPPED" {
		d.cfg.Inside(context.Background(), t, a)
	}
	return a, nil
}

// SendTaskCredentials sends renewed role credentials to the agent of the
// instance that runs the task; false when the instance has no session (its
// agent gets fresh ones with the task's assignment when it comes back) or
// too many messages wait for it.
func (d *Dispatcher) SendTaskCredentials(cluster, instanceID string, creds *berthv1.TaskCredentials) bool {
	d.mu.Lock()
	s := d.sessions[instanceKey(cluster, instanceID)]
	d.mu.Unlock()
	return s != nil && s.sendControl(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_TaskCredentials{TaskCredentials: creds}})
}
