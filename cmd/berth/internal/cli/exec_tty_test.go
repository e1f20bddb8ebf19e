package cli_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/cmd/berth/internal/cli"
)

// fakeExec is a Berth server whose ExecTask echoes stdin back as output
// until stdin ends, then answers exit code 7; it records what it received.
type fakeExec struct {
	berthv1.UnimplementedBerthServer
	resized chan *berthv1.TerminalSize // each resize, as it arrives

	mu    sync.Mutex
	start *berthv1.ExecStart
}

func (f *fakeExec) ExecTask(stream grpc.BidiStreamingServer[berthv1.ExecTaskRequest, berthv1.ExecTaskResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.start = first.GetStart()
	f.mu.Unlock()
	if err := stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_Started{Started: &berthv1.ExecStarted{TaskArn: "t"}}}); err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		switch msg := m.GetMessage().(type) {
		case *berthv1.ExecTaskRequest_Stdin:
			if err := stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_Stdout{Stdout: msg.Stdin}}); err != nil {
				return err
			}
		case *berthv1.ExecTaskRequest_Resize:
			f.resized <- msg.Resize
		case *berthv1.ExecTaskRequest_CloseStdin:
			return stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_ExitCode{ExitCode: 7}})
		}
	}
}

// fakeTerminal is a terminal of a set size whose resizes the test sends.
type fakeTerminal struct {
	mu         sync.Mutex
	rows, cols uint32
	raw        int // MakeRaw calls not yet restored
	changes    chan struct{}
	stdin      *blockingReader
}

func (t *fakeTerminal) MakeRaw() (func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.raw++
	return func() { t.mu.Lock(); t.raw--; t.mu.Unlock() }, nil
}

func (t *fakeTerminal) Size() (uint32, uint32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows, t.cols, nil
}

func (t *fakeTerminal) Resized() (<-chan struct{}, func()) { return t.changes, func() {} }

// blockingReader gives its chunks one at a time, each when released, then
// end of file.
type blockingReader struct {
	chunks chan []byte
}

func (r *blockingReader) Read(p []byte) (int, error) {
	b, ok := <-r.chunks
	if !ok {
		return 0, io.EOF
	}
	return copy(p, b), nil
}

// On a terminal, exec asks for a TTY of the terminal's size, with stdin;
// the terminal is raw while the command runs and restored after; a resize
// reaches the server; and the command's status is berth's.
func TestExecOnATerminal(t *testing.T) {
	f := &fakeExec{resized: make(chan *berthv1.TerminalSize, 1)}
	addr := serve(t, f)
	term := &fakeTerminal{rows: 24, cols: 80, changes: make(chan struct{}, 1), stdin: &blockingReader{chunks: make(chan []byte)}}
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- cli.Run(context.Background(), []string{"exec", "--endpoint", addr, "--cluster", "prod", "0123abcd", "--container", "web", "--", "sh", "-l"},
			cli.Env{Stdout: &out, Stderr: &errOut, Stdin: term.stdin, Terminal: term})
	}()
	term.stdin.chunks <- []byte("ls\r")
	term.mu.Lock()
	term.rows, term.cols = 50, 132
	term.mu.Unlock()
	term.changes <- struct{}{}
	if sz := <-f.resized; sz.GetRows() != 50 || sz.GetCols() != 132 {
		t.Errorf("resized to %v, want 50x132", sz)
	}
	term.mu.Lock()
	if term.raw != 1 {
		t.Errorf("the terminal is not raw while the command runs (%d)", term.raw)
	}
	term.mu.Unlock()
	close(term.stdin.chunks)
	if code := <-done; code != 7 || out.String() != "ls\r" || errOut.String() != "" {
		t.Errorf("exec on a terminal: exit %d, stdout %q, stderr %q; want 7, the echo", code, out.String(), errOut.String())
	}
	want := &berthv1.ExecStart{Cluster: "prod", Task: "0123abcd", Container: "web", Command: []string{"sh", "-l"}, Tty: true, Stdin: true,
		Size: &berthv1.TerminalSize{Rows: 24, Cols: 80}}
	f.mu.Lock()
	if !proto.Equal(f.start, want) {
		t.Errorf("start = %v, want %v", f.start, want)
	}
	f.mu.Unlock()
	term.mu.Lock()
	if term.raw != 0 {
		t.Errorf("the terminal was left raw")
	}
	term.mu.Unlock()
}
