package session

import (
	"context"
	"errors"
	"io"
	"sync"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// ExecStream is one exec's side of its TaskExec call, for Config.Exec.
type ExecStream struct {
	// Input is what the control plane sends for the command: at most the
	// request's input window of messages wait in it, so reading it never
	// makes the control plane wait. Call Taken once for each message taken.
	Input <-chan *berthv1.TaskExecInput
	// Taken tells the control plane one more input was handed to the
	// command, so that it may send another.
	Taken func() error
	// Send sends the command's output (stdout or stderr).
	Send func(*berthv1.TaskExecOutput) error
}

// startExec answers an ExecRequest on a goroutine of its own, which the
// session owns: it ends with the session's ctx, and serve waits for it.
func (s *Session) startExec(ctx context.Context, req *berthv1.ExecRequest) {
	s.logs.Add(1)
	go func() {
		defer s.logs.Done()
		if err := s.runExec(ctx, req); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Debug("exec ended", "task", req.GetTaskArn(), "request", req.GetRequestId(), "err", err)
		}
	}()
}

// runExec opens the TaskExec call that answers req, runs Config.Exec with
// the call's input and output, and sends its exit code or error last. The
// control plane ends the call when its caller hangs up; the call's context
// then ends Config.Exec.
func (s *Session) runExec(ctx context.Context, req *berthv1.ExecRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	call, err := s.client.TaskExec(ctx)
	if err != nil {
		return err
	}
	if err := call.Send(&berthv1.TaskExecOutput{RequestId: req.GetRequestId()}); err != nil {
		return err
	}
	var sendMu sync.Mutex // the receiver's Taken and Exec's output share the call
	send := func(o *berthv1.TaskExecOutput) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return call.Send(o)
	}
	input := make(chan *berthv1.TaskExecInput, max(1, req.GetInputWindow()))
	ended := make(chan error, 1)
	go func() { // ends when the call does: the control plane closes it, or cancel
		defer cancel() // the control plane hung up: Exec ends the command
		for {
			m, err := call.Recv()
			if err != nil {
				ended <- err
				return
			}
			select {
			case input <- m:
			default:
				ended <- errors.New("the control plane sent more input than the window allows")
				return
			}
		}
	}()
	stream := ExecStream{
		Input: input,
		Taken: func() error {
			return send(&berthv1.TaskExecOutput{Message: &berthv1.TaskExecOutput_InputTaken{InputTaken: true}})
		},
		Send: send,
	}
	var code int32
	if s.cfg.Exec == nil {
		err = errors.New("this agent does not run commands in containers")
	} else {
		code, err = s.cfg.Exec(ctx, req, stream)
	}
	last := &berthv1.TaskExecOutput{Message: &berthv1.TaskExecOutput_ExitCode{ExitCode: code}}
	if err != nil {
		last = &berthv1.TaskExecOutput{Message: &berthv1.TaskExecOutput_Error{Error: err.Error()}}
	}
	if ctx.Err() == nil {
		send(last) // if it fails, the call is over anyway
		sendMu.Lock()
		call.CloseSend()
		sendMu.Unlock()
	}
	endErr := <-ended // the control plane ends the call once it has the last message
	if err == nil && !errors.Is(endErr, io.EOF) {
		err = endErr
	}
	return err
}
