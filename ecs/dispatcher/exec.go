package dispatcher

import (
	"context"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// ExecInputWindow is how many input messages (chunks of stdin, its end,
// resizes) the control plane sends an agent beyond those the agent said it
// handed to the command: what an agent holds for a command that does not
// read its input (callers send stdin in chunks of at most 32 KiB).
const ExecInputWindow = 8

// execAnswerWithin is how long an agent may take to open the TaskExec call
// that answers an ExecRequest.
const execAnswerWithin = 10 * time.Second

// execRequest is one ExecRequest: StreamExec waits for the agent's TaskExec
// call, whose handler then moves input one way and output the other.
type execRequest struct {
	input    <-chan *berthv1.TaskExecInput // the caller's input, taken only when the window allows
	attached chan struct{}                 // closed by the handler when the agent's call arrives
	output   chan *berthv1.TaskExecOutput  // handler -> StreamExec, unbuffered
	ended    chan struct{}                 // closed by the handler when the call ended; err says how
	err      error                         // nil: the agent closed the call
	gone     chan struct{}                 // closed by StreamExec when it returns
}

// StreamExec asks the agent of instance (cluster, instanceID) to run req's
// command, sends it what arrives on input and sends each piece of the
// command's output with send, on the caller's goroutine, until the command
// exits. It returns the exit code. The instance must have a connected agent.
// Leaving early (ctx ending, send failing) ends the agent's TaskExec call,
// which ends the command. The caller closes nothing: input is read only
// while StreamExec runs.
func (d *Dispatcher) StreamExec(ctx context.Context, cluster, instanceID string, req *berthv1.ExecRequest, input <-chan *berthv1.TaskExecInput, send func(*berthv1.TaskExecOutput) error) (int32, error) {
	instanceARN := d.cfg.ARNs.ContainerInstance(cluster, instanceID)
	d.mu.Lock()
	s := d.sessions[instanceKey(cluster, instanceID)]
	d.mu.Unlock()
	if s == nil {
		return 0, ecserr.New(ecserr.FailedPrecondition, ecserr.TargetNotConnectedException,
			"The container instance %s has no connected agent: the command cannot run until the agent reconnects.", instanceARN)
	}
	id := randomHex(16)
	r := &execRequest{
		input:    input,
		attached: make(chan struct{}),
		output:   make(chan *berthv1.TaskExecOutput),
		ended:    make(chan struct{}),
		gone:     make(chan struct{}),
	}
	d.execMu.Lock()
	d.execs[id] = r
	d.execMu.Unlock()
	defer func() {
		d.execMu.Lock()
		delete(d.execs, id)
		d.execMu.Unlock()
		close(r.gone)
	}()
	msg := &berthv1.ExecRequest{
		RequestId: id, TaskArn: req.GetTaskArn(), Container: req.GetContainer(), Command: req.GetCommand(),
		Tty: req.GetTty(), Stdin: req.GetStdin(), Size: req.GetSize(), InputWindow: ExecInputWindow,
	}
	if !s.sendControl(&berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_ExecRequest{ExecRequest: msg}}) {
		return 0, ecserr.New(ecserr.ResourceExhausted, ecserr.LimitExceededException,
			"Too many requests are waiting for the agent of container instance %s; try again.", instanceARN)
	}
	timer := time.NewTimer(execAnswerWithin)
	defer timer.Stop()
	select {
	case <-r.attached:
	case <-timer.C:
		return 0, status.Errorf(codes.Unavailable, "the agent of container instance %s did not answer the exec request within %s", instanceARN, execAnswerWithin)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for {
		select {
		case o := <-r.output:
			switch m := o.GetMessage().(type) {
			case *berthv1.TaskExecOutput_ExitCode:
				return m.ExitCode, nil
			case *berthv1.TaskExecOutput_Error:
				return 0, ecserr.New(ecserr.FailedPrecondition, ecserr.ClientException, "%s", m.Error)
			}
			if err := send(o); err != nil {
				return 0, err
			}
		case <-r.ended:
			if r.err != nil {
				return 0, status.Errorf(codes.Unavailable, "the agent of container instance %s stopped the exec: %v", instanceARN, r.err)
			}
			return 0, status.Errorf(codes.Unavailable, "the agent of container instance %s ended the exec without an exit code", instanceARN)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// TaskExec serves an agent's answer to an ExecRequest: it sends the agent
// the caller's input as the window allows and hands the agent's output to
// StreamExec, until the agent closes the call or StreamExec is gone, which
// ends the call.
func (d *Dispatcher) TaskExec(call berthv1.AgentSessions_TaskExecServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	d.execMu.Lock()
	r := d.execs[first.GetRequestId()]
	delete(d.execs, first.GetRequestId())
	d.execMu.Unlock()
	if r == nil {
		return status.Errorf(codes.NotFound, "no exec request %q is waiting: its caller hung up", first.GetRequestId())
	}
	close(r.attached)
	ctx := call.Context()
	in, recvErr := receive(ctx, call.Recv) // ends with the call, which returning from TaskExec ends
	end := func(err error) error {
		r.err = err
		close(r.ended)
		return err
	}
	hungUp := status.Error(codes.Canceled, "the caller of the exec hung up")
	window := ExecInputWindow
	for {
		input := r.input
		if window == 0 {
			input = nil // the agent holds all it may: wait for it to take some
		}
		select {
		case m, ok := <-input:
			if !ok {
				r.input, input = nil, nil
				continue
			}
			if err := call.Send(m); err != nil {
				return end(err)
			}
			window--
		case o := <-in:
			if o.GetInputTaken() {
				window++
				continue
			}
			select {
			case r.output <- o:
			case <-r.gone:
				return hungUp
			case <-ctx.Done():
				return end(ctx.Err())
			}
			if isLast(o) {
				return nil // the last message: the agent reads the call's end
			}
		case err := <-recvErr:
			if err == io.EOF {
				return end(nil)
			}
			return end(err)
		case <-r.gone:
			return hungUp
		case <-ctx.Done():
			return end(ctx.Err())
		}
	}
}

// isLast says o ends the exec: its exit code, or why it could not run.
func isLast(o *berthv1.TaskExecOutput) bool {
	switch o.GetMessage().(type) {
	case *berthv1.TaskExecOutput_ExitCode, *berthv1.TaskExecOutput_Error:
		return true
	}
	return false
}
