package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// binary is the control plane built once for the package's tests.
var binary struct {
	once sync.Once
	path string
	err  error
	dir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// buildBinary builds this command (with the race detector) once.
func buildBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "berth-controlplane-test-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "controlplane")
		out, err := exec.Command("go", "build", "-race", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// process is a running control plane binary.
type process struct {
	cmd  *exec.Cmd
	addr string
	logs *logBuffer
	done chan error
}

var servingLine = regexp.MustCompile(`control plane serving" grpc=(\S+)`)

// logBuffer keeps a process's log lines for failure messages.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startBinary(t *testing.T, bin, dataDir string) *process {
	t.Helper()
	// Throttling off: these tests write as fast as they can to test
	// durability, not ECS's rates.
	cmd := exec.Command(bin, "--data-dir", dataDir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--no-throttle")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &logBuffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.add(sc.Text())
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	select {
	case p.addr = <-addr:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("control plane exited before serving: %v\n%s", err, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("control plane did not serve within 60s\n%s", p.logs)
	}
	return p
}

// TestBadDurationFlags: a negative duration is refused in one line that names
// the flag, before anything starts.
func TestBadDurationFlags(t *testing.T) {
	bin := buildBinary(t)
	for _, flag := range []string{"--heartbeat-period", "--agent-restart-grace"} {
		out, err := exec.Command(bin, "--data-dir", t.TempDir(), flag, "-1s").CombinedOutput()
		if err == nil || !strings.Contains(string(out), flag+": -1s is negative") || strings.Count(strings.TrimSpace(string(out)), "\n") > 0 {
			t.Errorf("%s -1s: %v, %q; want a one-line refusal naming the flag", flag, err, out)
		}
	}
}

func client(t *testing.T, addr, dataDir string) (berthv1.ECSClient, context.Context) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+strings.TrimSpace(string(tok)))
	return berthv1.NewECSClient(conn), ctx
}

// A control plane killed with SIGKILL in the middle of a stream of
// registrations loses none that it acknowledged, and its file opens clean.
func TestKillNineLosesNoAcknowledgedRegistration(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	ecs, ctx := client(t, p.addr, dir)

	var (
		mu    sync.Mutex
		acked []int32
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var once sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, err := ecs.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{
					Family:               "web",
					ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(64)}},
				})
				if err != nil {
					return // the process is gone
				}
				mu.Lock()
				acked = append(acked, res.TaskDefinition.Revision)
				if len(acked) >= 300 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("300 registrations took over a minute")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-p.done
	p.done <- nil

	checkFile(t, filepath.Join(dir, "state.db"))

	p = startBinary(t, bin, dir)
	ecs, ctx = client(t, p.addr, dir)
	for _, rev := range acked {
		_, err := ecs.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: fmt.Sprintf("web:%d", rev)})
		if err != nil {
			t.Fatalf("acknowledged web:%d lost after kill -9: %v", rev, err)
		}
	}
	t.Logf("%d acknowledged registrations all present after kill -9", len(acked))
	// And it still numbers on from where it was.
	res, err := ecs.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "web",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(64)}},
	})
	if err != nil || int(res.TaskDefinition.Revision) < len(acked)+1 {
		t.Fatalf("registration after restart: %v, %v", res, err)
	}
}

// checkFile opens the bbolt file and runs its consistency check.
func checkFile(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("state.db does not open after kill -9: %v", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("state.db fails its consistency check: %v", err)
	}
}

// SIGTERM stops the control plane cleanly: exit status 0, file closed.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, dir)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
	checkFile(t, filepath.Join(dir, "state.db"))
}
