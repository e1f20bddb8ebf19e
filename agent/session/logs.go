package session

import (
	"context"
	"errors"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// startLogs answers a LogsRequest on a goroutine of its own, which the session
// owns: it ends with the session's ctx, and serve waits for it.
func (s *Session) startLogs(ctx context.Context, req *berthv1.LogsRequest) {
	s.logs.Add(1)
	go func() {
		defer s.logs.Done()
		if err := s.sendLogs(ctx, req); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Debug("task logs ended", "task", req.GetTaskArn(), "request", req.GetRequestId(), "err", err)
		}
	}()
}

// sendLogs opens the TaskLogs call that answers req and streams the output
// Config.Logs sends into it. The control plane ends the call when its caller
// hangs up; a goroutine waits for that end (the call's answer) and then stops
// the reading, which may be waiting for output that never comes.
func (s *Session) sendLogs(ctx context.Context, req *berthv1.LogsRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	call, err := s.client.TaskLogs(ctx)
	if err != nil {
		return err
	}
	if err := call.Send(&berthv1.TaskLogsChunk{RequestId: req.GetRequestId()}); err != nil {
		return err
	}
	ended := make(chan error, 1)
	go func() {
		ended <- call.RecvMsg(new(berthv1.TaskLogsDone))
		cancel()
	}()
	if s.cfg.Logs == nil {
		err = errors.New("this agent does not serve logs")
	} else {
		err = s.cfg.Logs(ctx, req, call.Send)
	}
	if err != nil && ctx.Err() == nil {
		call.Send(&berthv1.TaskLogsChunk{Error: err.Error()}) // if it fails, the call is over anyway
	}
	call.CloseSend()
	if endErr := <-ended; err == nil {
		err = endErr
	}
	return err
}
