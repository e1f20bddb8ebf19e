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

// controlBuffer is how many messages other than assignments (LogsRequests) may
// wait for a session before more are refused.
const controlBuffer = 64

// logsAnswerWithin is how long an agent may take to open the TaskLogs call
// that answers a LogsRequest.
const logsAnswerWithin = 10 * time.Second

// logRequest is one LogsRequest: its reader (StreamTaskLogs) waits for the
// agent's TaskLogs call, whose handler then hands it the call's chunks.
type logRequest struct {
	attached chan struct{}               // closed by the handler when the agent's call arrives
	chunks   chan *berthv1.TaskLogsChunk // handler -> reader, unbuffered: all are taken before ended closes
	ended    chan struct{}               // closed by the handler when the call ended; err says how
	err      error                       // nil: the agent sent everything
	gone     chan struct{}               // closed by the reader when it stops reading
}

// StreamTaskLogs asks the agent of instance (cluster, instanceID) for the
// output req names and sends each chunk of it with send, on the caller's
// goroutine, until the agent has sent it all or ctx ends. The instance must
// have a connected agent. Leaving (ctx ending, send failing) ends the agent's
// TaskLogs call, which stops the agent's reading.
func (d *Dispatcher) StreamTaskLogs(ctx context.Context, cluster, instanceID string, req *berthv1.LogsRequest, send func(*berthv1.TaskLogsChunk) error) error {
	instanceARN := d.cfg.ARNs.ContainerInstance(cluster, instanceID)
	d.mu.Lock()
	s := d.sessions[instanceKey(cluster, instanceID)]
	d.mu.Unlock()
	if s == nil {
		return ecserr.New(ecserr.FailedPrecondition, ecserr.ClientException,
			"The container instance %s has no connected agent: its tasks' logs cannot be read until the agent reconnects.", instanceARN)
	}
	id := randomHex(16)
	r := &logRequest{
		attached: make(chan struct{}),
		chunks:   make(chan *berthv1.TaskLogsChunk),
		ended:    make(chan struct{}),
		gone:     make(chan struct{}),
	}
	d.logsMu.Lock()
	d.logs[id] = r
	d.logsMu.Unlock()
	defer func() {
		d.logsMu.Lock()
		delete(d.logs, id)
		d.logsMu.Unlock()
		close(r.gone)
	}()
	msg := &berthv1.ControlPlaneMessage{Message: &berthv1.ControlPlaneMessage_LogsRequest{LogsRequest: &berthv1.LogsRequest{
		RequestId: id, TaskArn: req.GetTaskArn(), Container: req.GetContainer(), Follow: req.GetFollow(), Tail: req.GetTail(),
	}}}
	if !s.sendControl(msg) {
		return ecserr.New(ecserr.ResourceExhausted, ecserr.LimitExceededException,
			"Too many logs requests are waiting for the agent of container instance %s; try again.", instanceARN)
	}
	timer := time.NewTimer(logsAnswerWithin)
	defer timer.Stop()
	select {
	case <-r.attached:
	case <-timer.C:
		return status.Errorf(codes.Unavailable, "the agent of container instance %s did not answer the logs request within %s", instanceARN, logsAnswerWithin)
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		select {
		case c := <-r.chunks:
			if c.GetError() != "" {
				return ecserr.New(ecserr.FailedPrecondition, ecserr.ClientException, "%s", c.GetError())
			}
			if err := send(c); err != nil {
				return err
			}
		case <-r.ended:
			if r.err != nil {
				return status.Errorf(codes.Unavailable, "the agent of container instance %s stopped sending logs: %v", instanceARN, r.err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TaskLogs serves an agent's answer to a LogsRequest: it hands the chunks to
// the request's reader until the agent closes the call, or ends the call when
// the reader is gone.
func (d *Dispatcher) TaskLogs(call berthv1.AgentSessions_TaskLogsServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	d.logsMu.Lock()
	r := d.logs[first.GetRequestId()]
	delete(d.logs, first.GetRequestId())
	d.logsMu.Unlock()
	if r == nil {
		return status.Errorf(codes.NotFound, "no logs request %q is waiting: its caller hung up", first.GetRequestId())
	}
	close(r.attached)
	ctx := call.Context()
	in, recvErr := receive(ctx, call.Recv) // ends with the call, which returning from TaskLogs ends
	end := func(err error) error {
		r.err = err
		close(r.ended)
		return err
	}
	hungUp := status.Error(codes.Canceled, "the caller of GetTaskLogs hung up")
	next := first
	for {
		if len(next.GetData()) > 0 || next.GetError() != "" {
			select {
			case r.chunks <- next:
			case <-r.gone:
				return hungUp
			case <-ctx.Done():
				return end(ctx.Err())
			}
		}
		select {
		case next = <-in:
		case err := <-recvErr:
			if err == io.EOF {
				end(nil)
				return call.SendAndClose(&berthv1.TaskLogsDone{})
			}
			return end(err)
		case <-r.gone:
			return hungUp
		case <-ctx.Done():
			return end(ctx.Err())
		}
	}
}

// receive hands each message recv returns to the first channel until recv
// fails, then the error to the second. Its goroutine ends when recv fails or
// ctx, the call's, ends: the caller's stream handler owns it by returning.
func receive[T any](ctx context.Context, recv func() (T, error)) (<-chan T, <-chan error) {
	in := make(chan T)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case in <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return in, recvErr
}
