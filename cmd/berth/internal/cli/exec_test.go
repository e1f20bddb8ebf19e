package cli_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/cmd/berth/internal/cli"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// execEnv is a control plane and an agent on the local Docker, with a
// busybox task run with execute command (enabled) and one without (plain).
type execEnv struct {
	*cptest.Cluster
	enabled, plain string
}

func startExecEnv(t *testing.T) *execEnv {
	t.Helper()
	cli := dockertest.Client(t) // skip (or fail) without a daemon before starting anything
	img := testimage.Busybox(t)
	var instance string
	t.Cleanup(func() { removeInstanceContainers(t, instance) }) // first registered: runs after the agent stopped
	c := cptest.Start(t, controlplane.Config{})
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.NewWithClient(ctx, cli, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.Config{Runtime: rt, CPU: 1024, Memory: 1024}
	cfg.Engine.StopTimeout = time.Second // busybox's sleep as PID 1 ignores SIGTERM
	c.StartAgent(t, cfg)
	instance = c.WaitInstances(t, 1)[0]
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "shell", ContainerDefinitions: []*berthv1.ContainerDefinition{
		{Name: "shell", Image: img, Memory: proto.Int32(32), Command: []string{"sleep", "3600"}, DockerLabels: dockertest.Labels(nil)},
	}}); err != nil {
		t.Fatal(err)
	}
	run := func(enable bool) string {
		resp, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "shell", EnableExecuteCommand: enable})
		if err != nil || len(resp.GetTasks()) != 1 {
			t.Fatalf("RunTask: %v %v", err, resp.GetFailures())
		}
		arn := resp.GetTasks()[0].GetTaskArn()
		cptest.Eventually(t, "task "+arn+" RUNNING", func() bool {
			d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{arn}})
			return err == nil && d.GetTasks()[0].GetLastStatus() == "RUNNING"
		})
		return arn
	}
	return &execEnv{Cluster: c, enabled: run(true), plain: run(false)}
}

// removeInstanceContainers removes what the agent of instance left.
func removeInstanceContainers(t *testing.T, instance string) {
	if instance == "" {
		return
	}
	cli, err := dockertest.NewClient()
	if err != nil {
		t.Error(err)
		return
	}
	defer cli.Close()
	ctx, cancel := dockertest.Context()
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelInstanceARN+"="+instance))})
	if err != nil {
		t.Error(err)
		return
	}
	for _, ct := range list {
		if err := cli.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
			t.Errorf("remove container %s: %v", ct.ID, err)
		}
	}
}

// berthExec runs berth exec against e with stdin (nil: none) and returns
// what it printed and its exit status.
func (e *execEnv) berthExec(ctx context.Context, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	args = append([]string{"exec", "--endpoint", e.CP.GRPCAddr(), "--token", e.CP.AdminToken()}, args...)
	code = cli.Run(ctx, args, cli.Env{Stdout: &out, Stderr: &errOut, Stdin: stdin})
	return out.String(), errOut.String(), code
}

// berth exec, not on a terminal, in a real container: its output on stdout
// and stderr apart, its exit status as berth's, stdin with -i; what ECS
// refuses, refused as ECS does; a command whose caller hangs up is ended.
func TestExecInDocker(t *testing.T) {
	e := startExecEnv(t)
	ctx := context.Background()

	stdout, stderr, code := e.berthExec(ctx, nil, e.enabled, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if stdout != "out\n" || stderr != "err\n" || code != 3 {
		t.Errorf("exec sh -c: stdout %q, stderr %q, exit %d; want out, err, 3", stdout, stderr, code)
	}
	stdout, stderr, code = e.berthExec(ctx, nil, e.enabled, "--container", "shell", "--", "ls", "/")
	if code != 0 || !strings.Contains(stdout, "bin\n") || stderr != "" {
		t.Errorf("exec ls /: stdout %q, stderr %q, exit %d", stdout, stderr, code)
	}
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB: many chunks, more than the agent's input window
	stdout, stderr, code = e.berthExec(ctx, strings.NewReader(big), e.enabled, "-i", "--", "cat")
	if code != 0 || stdout != big || stderr != "" {
		t.Errorf("exec -i cat of 1 MiB: %d bytes back (equal: %v), stderr %q, exit %d", len(stdout), stdout == big, stderr, code)
	}
	stdout, _, code = e.berthExec(ctx, strings.NewReader("not sent\n"), e.enabled, "--", "cat")
	if code != 0 || stdout != "" {
		t.Errorf("exec cat without -i: stdout %q, exit %d; want nothing sent, 0", stdout, code)
	}

	// On a terminal: a TTY in the container, of the terminal's size (which
	// Docker before API 1.42 sets only once the command runs: the command
	// waits for it, up to 5 s).
	term := &fakeTerminal{rows: 33, cols: 99, changes: make(chan struct{}), stdin: &blockingReader{chunks: make(chan []byte)}}
	var out bytes.Buffer
	code = cli.Run(ctx, []string{"exec", "--endpoint", e.CP.GRPCAddr(), "--token", e.CP.AdminToken(), e.enabled, "--", "sh", "-c", `busybox tty; i=0; while [ $i -lt 100 ] && [ "$(busybox stty size)" != "33 99" ]; do i=$((i+1)); sleep 0.05; done; busybox stty size`},
		cli.Env{Stdout: &out, Stderr: &out, Stdin: term.stdin, Terminal: term})
	close(term.stdin.chunks) // the terminal's input never ended: now it does, for the reader
	if code != 0 || !strings.Contains(out.String(), "/dev/pts/") || !strings.Contains(out.String(), "33 99") {
		t.Errorf("exec on a terminal: %q, exit %d; want a pts of 33 rows and 99 columns", out.String(), code)
	}

	_, stderr, code = e.berthExec(ctx, nil, e.plain, "--", "ls")
	if code != 1 || !strings.Contains(stderr, "execute command was not enabled when the task was run") {
		t.Errorf("exec in a task without execute command: stderr %q, exit %d", stderr, code)
	}
	_, stderr, code = e.berthExec(ctx, nil, e.enabled, "--container", "db", "--", "ls")
	if code != 1 || !strings.Contains(stderr, `no container named "db" (it has shell)`) {
		t.Errorf("exec in an unknown container: stderr %q, exit %d", stderr, code)
	}
	// As with docker exec: status 126, and Docker's words on the output.
	stdout, stderr, code = e.berthExec(ctx, nil, e.enabled, "--", "no-such-program")
	if code != 126 || !strings.Contains(stdout+stderr, `"no-such-program": executable file not found`) {
		t.Errorf("exec of a missing program: stdout %q, stderr %q, exit %d; want 126 and why", stdout, stderr, code)
	}
	_, stderr, code = e.berthExec(ctx, nil, e.enabled, "ls")
	if code != 2 || !strings.Contains(stderr, "berth exec TASK -- ls /") {
		t.Errorf("exec without --: stderr %q, exit %d; want a usage error", stderr, code)
	}

	// Hanging up (Ctrl-C without a terminal) ends the command in the container.
	running := func(want bool) func() bool {
		return func() bool {
			out, _, code := e.berthExec(ctx, nil, e.enabled, "--", "ps")
			return code == 0 && strings.Contains(out, "sleep 1234") == want
		}
	}
	hangUp, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() {
		_, _, code := e.berthExec(hangUp, nil, e.enabled, "--", "sleep", "1234")
		done <- code
	}()
	cptest.Eventually(t, "sleep 1234 running in the container", running(true))
	cancel()
	if code := <-done; code != 1 {
		t.Errorf("exec after hanging up: exit %d, want 1", code)
	}
	cptest.Eventually(t, "sleep 1234 ended after the hang-up", running(false))

	if _, err := e.ECS.StopTask(e.Ctx, &berthv1.StopTaskRequest{Task: e.enabled}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the task stopped", func() bool {
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{e.enabled}})
		return err == nil && d.GetTasks()[0].GetLastStatus() == "STOPPED"
	})
	_, stderr, code = e.berthExec(ctx, nil, e.enabled, "--", "ls")
	if code != 1 || !strings.Contains(stderr, "is STOPPED") {
		t.Errorf("exec in a stopped task: stderr %q, exit %d", stderr, code)
	}
}
