package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// execChunk is how much of stdin one message carries.
const execChunk = 32 << 10

// exitStatus ends berth with a command's exit status, printing nothing.
type exitStatus int

func (e exitStatus) Error() string { return "exit status" }

func (a *app) execCommand() *cobra.Command {
	start := &berthv1.ExecStart{}
	var interactive bool
	cmd := &cobra.Command{
		Use:   "exec TASK [--container NAME] [-i] -- COMMAND [ARG...]",
		Short: "Run a command in a task's container, through the agent that runs it (ECS Exec)",
		Long: "exec runs COMMAND (without a shell) in a container of a task run with enableExecuteCommand, through\n" +
			"the agent that runs the task, and exits with the command's exit status. On a terminal it is\n" +
			"interactive with a TTY (Ctrl-C goes to the command); otherwise stdout and stderr stay apart,\n" +
			"and -i sends stdin.",
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
				return usagef("exec takes a task ID or ARN, then -- and the command: berth exec TASK -- ls /")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&start.Cluster, "cluster", "", "the cluster (default: default)")
	fs.StringVar(&start.Container, "container", "", "the container's name (may be left out when the task has one container)")
	fs.BoolVarP(&interactive, "interactive", "i", false, "send stdin to the command (always on a terminal)")
	cmd.RunE = a.run(func(cmd *cobra.Command, args []string) error {
		start.Task, start.Command = args[0], args[1:]
		term := a.env.Terminal
		if term != nil {
			start.Tty, start.Stdin = true, true
			if rows, cols, err := term.Size(); err == nil {
				start.Size = &berthv1.TerminalSize{Rows: rows, Cols: cols}
			}
		} else {
			start.Stdin = interactive && a.env.Stdin != nil
		}
		return a.withBerth(cmd.Context(), func(ctx context.Context, _ berthv1.ECSClient, b berthv1.BerthClient) error {
			code, err := a.exec(ctx, b, start, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if code != 0 {
				return exitStatus(code)
			}
			return nil
		})
	})
	return cmd
}

// exec runs the command of start and returns its exit code: the output to
// stdout and stderr, stdin (with start.Stdin) and the terminal's sizes (with
// start.Tty) to the command. On a terminal, the terminal is raw meanwhile.
func (a *app) exec(ctx context.Context, b berthv1.BerthClient, start *berthv1.ExecStart, stdout, stderr io.Writer) (int32, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the call, and with it the command, if we leave early
	stream, err := b.ExecTask(ctx)
	if err != nil {
		return 0, err
	}
	if err := stream.Send(&berthv1.ExecTaskRequest{Message: &berthv1.ExecTaskRequest_Start{Start: start}}); err != nil {
		return 0, recvErr(stream, err)
	}
	first, err := stream.Recv()
	if err != nil {
		return 0, err
	}
	if first.GetStarted() == nil {
		return 0, errors.New("the control plane did not start the command")
	}
	if start.Tty {
		restore, err := a.env.Terminal.MakeRaw()
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	// One goroutine sends (gRPC allows one sender): stdin, then resizes.
	// It ends when ctx does, or at the end of stdin with no terminal.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		a.sendExecInput(ctx, stream, start)
	}()
	defer func() { cancel(); <-sent }()
	for {
		m, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the control plane ended the exec without an exit code")
			}
			return 0, err
		}
		switch msg := m.GetMessage().(type) {
		case *berthv1.ExecTaskResponse_Stdout:
			if _, err := stdout.Write(msg.Stdout); err != nil {
				return 0, err
			}
		case *berthv1.ExecTaskResponse_Stderr:
			if _, err := stderr.Write(msg.Stderr); err != nil {
				return 0, err
			}
		case *berthv1.ExecTaskResponse_ExitCode:
			return msg.ExitCode, nil
		}
	}
}

// sendExecInput sends stdin (read on a goroutine of its own, which ends at
// the end of stdin or at the first read after ctx ended) and, with a
// terminal, its new sizes, until ctx ends.
func (a *app) sendExecInput(ctx context.Context, stream berthv1.Berth_ExecTaskClient, start *berthv1.ExecStart) {
	var chunks <-chan []byte
	if start.Stdin {
		c := make(chan []byte)
		chunks = c
		go readChunks(ctx, a.env.Stdin, c)
	}
	var resized <-chan struct{}
	if start.Tty {
		r, stop := a.env.Terminal.Resized()
		defer stop()
		resized = r
	}
	for {
		var m *berthv1.ExecTaskRequest
		select {
		case b, ok := <-chunks:
			if !ok {
				chunks = nil
				m = &berthv1.ExecTaskRequest{Message: &berthv1.ExecTaskRequest_CloseStdin{CloseStdin: true}}
			} else {
				m = &berthv1.ExecTaskRequest{Message: &berthv1.ExecTaskRequest_Stdin{Stdin: b}}
			}
		case <-resized:
			rows, cols, err := a.env.Terminal.Size()
			if err != nil {
				continue
			}
			m = &berthv1.ExecTaskRequest{Message: &berthv1.ExecTaskRequest_Resize{Resize: &berthv1.TerminalSize{Rows: rows, Cols: cols}}}
		case <-ctx.Done():
			return
		}
		if stream.Send(m) != nil {
			return // the call is over: Recv says why
		}
	}
}

// readChunks sends what r reads, chunk by chunk, and closes c at its end.
// A read that blocks holds the goroutine until it returns (a terminal's,
// until the next key or the process's exit).
func readChunks(ctx context.Context, r io.Reader, c chan<- []byte) {
	for {
		buf := make([]byte, execChunk)
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case c <- buf[:n]:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			close(c)
			return
		}
	}
}

// recvErr is the status that explains a failed Send: gRPC reports it on
// Recv.
func recvErr(stream berthv1.Berth_ExecTaskClient, sendErr error) error {
	if _, err := stream.Recv(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return sendErr
}
