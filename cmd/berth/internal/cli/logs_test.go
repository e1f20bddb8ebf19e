package cli_test

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/cmd/berth/internal/cli"
)

// fakeLogs is a Berth server whose GetTaskLogs sends the chunks it is given
// and records what it was asked, then ends with err, or with hold waits
// for the caller to hang up (as a followed task's stream would).
type fakeLogs struct {
	berthv1.UnimplementedBerthServer
	chunks []*berthv1.GetTaskLogsResponse

	mu    sync.Mutex
	err   error
	hold  bool
	calls []*berthv1.GetTaskLogsRequest
	auth  []string
}

// then sets how the following calls end.
func (f *fakeLogs) then(err error, hold bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.hold = err, hold
}

func (f *fakeLogs) GetTaskLogs(req *berthv1.GetTaskLogsRequest, stream grpc.ServerStreamingServer[berthv1.GetTaskLogsResponse]) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.auth = append(f.auth, md.Get("authorization")...)
	end, hold := f.err, f.hold
	f.mu.Unlock()
	for _, c := range f.chunks {
		if err := stream.Send(c); err != nil {
			return err
		}
	}
	if hold {
		<-stream.Context().Done()
	}
	return end
}

// serve serves srv on a loopback port until the test ends and returns its
// address.
func serve(t *testing.T, srv berthv1.BerthServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	berthv1.RegisterBerthServer(s, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return lis.Addr().String()
}

func runCLI(args ...string) (stdout, stderr string, code int) {
	return runCLIContext(context.Background(), args...)
}

func runCLIContext(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = cli.Run(ctx, args, cli.Env{Stdout: &out, Stderr: &errOut})
	return out.String(), errOut.String(), code
}

// logs writes each chunk to the stream it came from, and sends the request
// as the flags say, with the token.
func TestLogs(t *testing.T) {
	f := &fakeLogs{chunks: []*berthv1.GetTaskLogsResponse{
		{Container: "web", Stream: "stdout", Data: []byte("listening on :80\n")},
		{Container: "web", Stream: "stderr", Data: []byte("warning: no config\n")},
		{Container: "web", Stream: "stdout", Data: []byte("GET / 200\n")},
	}}
	addr := serve(t, f)
	stdout, stderr, code := runCLI("logs", "0123abcd", "--cluster", "prod", "--container", "web", "-f", "--tail", "10", "--endpoint", addr, "--token", "s3cret")
	if code != 0 || stdout != "listening on :80\nGET / 200\n" || stderr != "warning: no config\n" {
		t.Fatalf("logs: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	want := &berthv1.GetTaskLogsRequest{Cluster: "prod", Task: "0123abcd", Container: "web", Follow: true, Tail: 10}
	f.mu.Lock()
	if len(f.calls) != 1 || !proto.Equal(f.calls[0], want) || len(f.auth) != 1 || f.auth[0] != "Bearer s3cret" {
		t.Errorf("server got %v with authorization %q, want %v with Bearer s3cret", f.calls, f.auth, want)
	}
	f.mu.Unlock()

	// -f goes on until interrupted, which is no error.
	f.then(nil, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(200*time.Millisecond, cancel).Stop()
	stdout, stderr, code = runCLIContext(ctx, "logs", "0123abcd", "-f", "--endpoint", addr)
	if code != 0 || stdout != "listening on :80\nGET / 200\n" || stderr != "warning: no config\n" {
		t.Fatalf("logs -f, interrupted: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// An error after some output: the output, then the error as one line.
	f.then(status.Error(codes.NotFound, "task 0123abcd: not found\nin cluster prod"), false)
	stdout, stderr, code = runCLI("logs", "0123abcd", "--endpoint", addr)
	if code != 1 || stdout != "listening on :80\nGET / 200\n" || stderr != "warning: no config\nberth: task 0123abcd: not found; in cluster prod\n" {
		t.Errorf("logs with an error: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// A control plane without GetTaskLogs: its error, as one line.
func TestLogsUnimplemented(t *testing.T) {
	addr := serve(t, &berthv1.UnimplementedBerthServer{})
	stdout, stderr, code := runCLI("logs", "0123abcd", "--endpoint", addr)
	if code != 1 || stdout != "" || stderr != "berth: method GetTaskLogs not implemented\n" {
		t.Errorf("logs against an older control plane: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
