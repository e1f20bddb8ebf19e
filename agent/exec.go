package agent

import (
	"context"
	"fmt"
	"sync"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/session"
)

// execOutputChunk is the most output one message carries.
const execOutputChunk = 32 << 10

// exec answers an ExecRequest: it finds the task's container by its labels
// and runs the command in it through the runtime, if the runtime can. The
// control plane has checked the task and the container's name; here the
// container may still not run.
func (a *agentRun) exec(ctx context.Context, req *berthv1.ExecRequest, stream session.ExecStream) (int32, error) {
	execer, ok := a.cfg.Runtime.(rt.Execer)
	if !ok {
		return 0, fmt.Errorf("this agent's runtime cannot run commands in containers")
	}
	list, err := a.cfg.Runtime.List(ctx, map[string]string{rt.LabelTaskARN: req.GetTaskArn(), rt.LabelContainerName: req.GetContainer()})
	if err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, fmt.Errorf("container %s of task %s has not been created on its instance (yet)", req.GetContainer(), req.GetTaskArn())
	}
	c := list[0]
	st, err := a.cfg.Runtime.Inspect(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	if st.Status != rt.StatusRunning {
		return 0, fmt.Errorf("container %s of task %s is not running (it is %s): a command runs only in a running container", req.GetContainer(), req.GetTaskArn(), st.Status)
	}
	ctx, cancel := context.WithCancel(ctx)
	stdin := make(chan []byte)
	resize := make(chan rt.TerminalSize)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which ends feedInput
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		feedInput(ctx, stream, stdin, resize)
	}()
	spec := rt.ExecSpec{Command: req.GetCommand(), Tty: req.GetTty(), Stdin: req.GetStdin()}
	if sz := req.GetSize(); sz != nil {
		spec.Size = rt.TerminalSize{Rows: uint(sz.GetRows()), Cols: uint(sz.GetCols())}
	}
	out := func(stderr bool) chunkWriter {
		return func(p []byte) error {
			for len(p) > 0 {
				b := append([]byte(nil), p[:min(len(p), execOutputChunk)]...)
				p = p[len(b):]
				o := &berthv1.TaskExecOutput{Message: &berthv1.TaskExecOutput_Stdout{Stdout: b}}
				if stderr {
					o.Message = &berthv1.TaskExecOutput_Stderr{Stderr: b}
				}
				if err := stream.Send(o); err != nil {
					return err
				}
			}
			return nil
		}
	}
	var sendMu sync.Mutex // stdout and stderr are written from one goroutine, but say so
	lock := func(w chunkWriter) chunkWriter {
		return func(p []byte) error { sendMu.Lock(); defer sendMu.Unlock(); return w(p) }
	}
	code, err := execer.Exec(ctx, c.ID, spec, rt.ExecIO{Stdin: stdin, Resize: resize, Stdout: lock(out(false)), Stderr: lock(out(true))})
	return int32(code), err
}

// feedInput hands the control plane's input to the runtime: stdin chunks
// (closing stdin at its end) and terminal sizes, telling the control plane
// each one was taken, until ctx ends.
func feedInput(ctx context.Context, stream session.ExecStream, stdin chan<- []byte, resize chan<- rt.TerminalSize) {
	for {
		var m *berthv1.TaskExecInput
		select {
		case m = <-stream.Input:
		case <-ctx.Done():
			return
		}
		switch in := m.GetMessage().(type) {
		case *berthv1.TaskExecInput_Stdin:
			select {
			case stdin <- in.Stdin:
			case <-ctx.Done():
				return
			}
		case *berthv1.TaskExecInput_CloseStdin:
			if stdin != nil {
				close(stdin)
				stdin = nil
			}
		case *berthv1.TaskExecInput_Resize:
			select {
			case resize <- rt.TerminalSize{Rows: uint(in.Resize.GetRows()), Cols: uint(in.Resize.GetCols())}:
			case <-ctx.Done():
				return
			}
		}
		if stream.Taken(); ctx.Err() != nil {
			return
		}
	}
}
