package environments_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
	"github.com/berth/berth/lambda/environments"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/zipimage"
)

var _ environments.ECS = (*ecsapi.Server)(nil)

// lambdaStack is a control plane with one agent on the local Docker in the
// berth-lambda cluster, and a Pool over the ECS launcher.
type lambdaStack struct {
	c    *cptest.Cluster
	pool *environments.Pool

	mu    sync.Mutex
	lines []string
}

func newLambdaStack(t *testing.T, idle time.Duration, images ...environments.ImageResolver) *lambdaStack {
	t.Helper()
	dockertest.Client(t)
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, Logger: log})
	if _, err := c.ECS.CreateCluster(c.Ctx, &berthv1.CreateClusterRequest{ClusterName: environments.DefaultCluster}); err != nil {
		t.Fatal(err)
	}
	c.StartAgent(t, agent.Config{Cluster: environments.DefaultCluster, Runtime: rt, CPU: 4096, Memory: 4096, Logger: log,
		RemoveContainersOnExit: true, Engine: engine.Options{StopTimeout: 2 * time.Second}})
	cptest.Eventually(t, "the agent in berth-lambda", func() bool {
		l, err := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{Cluster: environments.DefaultCluster})
		return err == nil && len(l.ContainerInstanceArns) == 1
	})
	auth := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.CP.AdminToken())
	}
	s := &lambdaStack{c: c}
	launcher := environments.NewECSLauncher(environments.ECSConfig{
		ECS: environments.ECSClient{C: c.ECS, Auth: auth}, Logs: environments.GRPCTaskLogs(c.Berth, auth),
		DockerLabels: dockertest.Labels(nil), Logger: log, Memory: &environments.DockerMemory{Docker: dockertest.Client(t)},
	})
	var resolve environments.ImageResolver
	if len(images) > 0 {
		resolve = images[0]
	}
	s.pool = environments.New(environments.Config{Launcher: launcher, Idle: idle, Logger: log, Images: resolve,
		Log: func(fn invoke.Function, env string, line []byte) {
			s.mu.Lock()
			s.lines = append(s.lines, string(line))
			s.mu.Unlock()
		}})
	t.Cleanup(func() { s.pool.Close() }) // before the control plane stops
	return s
}

func (s *lambdaStack) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// running counts the berth-lambda cluster's tasks not stopped.
func (s *lambdaStack) running(t *testing.T) int {
	l, err := s.c.ECS.ListTasks(s.c.Ctx, &berthv1.ListTasksRequest{Cluster: environments.DefaultCluster, DesiredStatus: "RUNNING"})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.TaskArns)
}

func lambdaFunction(t *testing.T, name string) invoke.Function {
	return invoke.Function{
		ARN: "arn:aws:lambda:us-east-1:000000000000:function:" + name + ":$LATEST", Name: name, Version: "$LATEST",
		PackageType: "Image", Image: testimage.Lambda(t), MemoryMB: 128, Timeout: 30 * time.Second, EphemeralStorageMB: 512,
		ReservedConcurrency: -1, Environment: map[string]string{"MY_VAR": "mine"},
	}
}

func call(t *testing.T, p *environments.Pool, fn invoke.Function, event string) (invoke.Result, error) {
	t.Helper()
	return p.Invoke(context.Background(), invoke.Request{Function: fn, Payload: []byte(event), LogTail: true})
}

func mustCall(t *testing.T, p *environments.Pool, fn invoke.Function, event string) invoke.Result {
	t.Helper()
	r, err := call(t, p, fn, event)
	if err != nil {
		t.Fatalf("invoke %s: %v", event, err)
	}
	return r
}

func errType(t *testing.T, r invoke.Result) string {
	t.Helper()
	var doc struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(r.Payload, &doc); err != nil || r.FunctionError != "Unhandled" {
		t.Fatalf("not a function error: %q %s", r.FunctionError, r.Payload)
	}
	return doc.ErrorType
}

// A Go function over aws-lambda-go, FROM scratch, in containers placed by
// berth's scheduler: a cold start then a warm one in the same environment,
// Lambda's variables and a writable /tmp, a function error that keeps the
// environment, a timeout and an exit that end theirs, reserved concurrency 2
// against 5 concurrent invocations (3 throttled), and scale to zero.
func TestLambdaOnDocker(t *testing.T) {
	s := newLambdaStack(t, 3*time.Second)
	p := s.pool
	fn := lambdaFunction(t, "hello")

	cold := mustCall(t, p, fn, `{"op":"echo","value":{"n":1}}`)
	if string(cold.Payload) != `{"n":1}` || cold.FunctionError != "" || cold.InitDuration <= 0 {
		t.Fatalf("cold: %+v %s", cold, cold.Payload)
	}
	warm := mustCall(t, p, fn, `{"op":"env"}`)
	if warm.InitDuration != 0 {
		t.Errorf("the second invocation was a cold start: %+v", warm)
	}
	var env map[string]string
	if err := json.Unmarshal(warm.Payload, &env); err != nil {
		t.Fatalf("env: %s", warm.Payload)
	}
	for k, want := range map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "hello", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_REGION": "us-east-1", "LAMBDA_TASK_ROOT": "/var/task", "TZ": ":UTC",
		"MY_VAR": "mine", "tmpWritable": "true"} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if st := p.Stats(); len(st) != 1 {
		t.Errorf("environments: %+v, want one", st)
	}
	if !strings.Contains(string(warm.Log), "REPORT RequestId: ") || !strings.Contains(string(warm.Log), "END RequestId: ") {
		t.Errorf("tail:\n%s", warm.Log)
	}

	// A function error keeps the environment.
	if r := mustCall(t, p, fn, `{"op":"error"}`); errType(t, r) != "errorString" {
		t.Errorf("function error: %s", r.Payload)
	}
	if r := mustCall(t, p, fn, `{"op":"echo","value":2}`); string(r.Payload) != "2" || r.InitDuration != 0 {
		t.Errorf("after the error: %+v", r)
	}
	cptest.Eventually(t, "the function's output in its log stream", func() bool {
		return strings.Contains(s.log(), "lambdafn handling echo")
	})

	// A timeout stops the environment.
	short := fn
	short.Timeout = time.Second
	r := mustCall(t, p, short, `{"op":"sleep","ms":10000}`)
	if errType(t, r) != "Sandbox.Timedout" || !strings.Contains(string(r.Payload), "Task timed out after 1.00 seconds") {
		t.Errorf("timeout: %s", r.Payload)
	}
	// An exit in the middle of an invocation.
	if r := mustCall(t, p, fn, `{"op":"exit","code":3}`); errType(t, r) != "Runtime.ExitError" || !strings.Contains(string(r.Payload), "exit status 3") {
		t.Errorf("exit: %s", r.Payload)
	}

	// Reserved concurrency 2, five at once: two run, three are throttled.
	busy := lambdaFunction(t, "busy")
	busy.ReservedConcurrency = 2
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := call(t, p, busy, `{"op":"sleep","ms":1500}`)
			if err == nil && string(r.Payload) != `"slept"` {
				err = fmt.Errorf("payload %s", r.Payload)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ran, throttled := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ran++
		case apierr.HasReason(err, invoke.ReasonReservedConcurrency):
			throttled++
		default:
			t.Errorf("invoke: %v", err)
		}
	}
	if ran != 2 || throttled != 3 {
		t.Errorf("ran %d, throttled %d; want 2 and 3", ran, throttled)
	}

	// Scale to zero: every environment stopped after 3 s idle.
	cptest.Eventually(t, "no environment and no task left", func() bool { return len(p.Stats()) == 0 && s.running(t) == 0 })
	if !strings.Contains(s.log(), "Init Duration: ") {
		t.Errorf("no Init Duration in the log stream:\n%s", s.log())
	}
}

// A bad entrypoint and an image past its memory limit end as Lambda's
// Runtime.InvalidEntrypoint and Runtime.OutOfMemory.
func TestLambdaFailuresOnDocker(t *testing.T) {
	s := newLambdaStack(t, time.Minute)
	bad := lambdaFunction(t, "bad")
	bad.EntryPoint = []string{"/var/task/nothing-here"}
	if r := mustCall(t, s.pool, bad, `{"op":"echo","value":1}`); errType(t, r) != "Runtime.InvalidEntrypoint" {
		t.Errorf("bad entrypoint: %s", r.Payload)
	}
	oom := lambdaFunction(t, "oom")
	if r := mustCall(t, s.pool, oom, `{"op":"oom"}`); errType(t, r) != "Runtime.OutOfMemory" {
		t.Errorf("oom: %s", r.Payload)
	}
	cli := dockertest.Client(t)
	ctx, cancel := dockertest.Context()
	defer cancel()
	cptest.Eventually(t, "the environments' containers gone or stopped", func() bool {
		list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelTest+"=1"),
			filters.Arg("ancestor", testimage.Lambda(t)))})
		return err == nil && len(list) == 0
	})
}

// A provided.al2023 zip whose bootstrap is a Go function over aws-lambda-go:
// berth lays it out under /var/task in an image of its own making (built
// once per CodeSha256, removable), and runs it like an image function; a
// managed runtime with no base image fails with a function error naming the
// flag.
func TestZipFunctionOnDocker(t *testing.T) {
	cli := dockertest.Client(t)
	bootstrap, err := testimage.LambdaBootstrap()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	w.Write(bootstrap)
	zw.Close()
	sha := zipimage.CodeSha256(buf.Bytes())
	zipPath := filepath.Join(t.TempDir(), "code.zip")
	if err := os.WriteFile(zipPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b := zipimage.New(zipimage.Config{Docker: cli, ZipPath: func(string) string { return zipPath }, Labels: dockertest.Labels(nil)})
	t.Cleanup(func() {
		ctx, cancel := dockertest.Context()
		defer cancel()
		if err := b.Remove(ctx, sha); err != nil {
			t.Errorf("remove the code's image: %v", err)
		}
	})
	s := newLambdaStack(t, time.Minute, b.Image)
	fn := invoke.Function{
		ARN: "arn:aws:lambda:us-east-1:000000000000:function:zipped:$LATEST", Name: "zipped", Version: "$LATEST",
		PackageType: "Zip", Runtime: "provided.al2023", Handler: "bootstrap", CodeSha256: sha,
		MemoryMB: 128, Timeout: 30 * time.Second, ReservedConcurrency: -1,
	}
	if err := b.Prepare(context.Background(), fn, zipPath); err != nil {
		t.Fatal(err)
	}
	r := mustCall(t, s.pool, fn, `{"op":"env"}`)
	var env map[string]string
	if err := json.Unmarshal(r.Payload, &env); err != nil || r.FunctionError != "" {
		t.Fatalf("env: %s %v", r.Payload, err)
	}
	if env["_HANDLER"] != "bootstrap" || env["LAMBDA_TASK_ROOT"] != "/var/task" || env["tmpWritable"] != "true" {
		t.Errorf("env %v", env)
	}
	if r := mustCall(t, s.pool, fn, `{"op":"echo","value":"z"}`); string(r.Payload) != `"z"` || r.InitDuration != 0 {
		t.Errorf("warm: %+v", r)
	}
	ctx, cancel := dockertest.Context()
	defer cancel()
	if _, err := cli.ImageInspect(ctx, zipimage.Tag(sha, "")); err != nil {
		t.Errorf("the code's image: %v", err)
	}
	py := fn
	py.Name, py.ARN, py.Runtime, py.Handler = "py", "arn:aws:lambda:us-east-1:000000000000:function:py:$LATEST", "python3.12", "app.handler"
	if r := mustCall(t, s.pool, py, `{}`); errType(t, r) != "Runtime.Unsupported" || !strings.Contains(string(r.Payload), "--lambda-runtime-image python3.12=IMAGE") {
		t.Errorf("unmapped runtime: %s", r.Payload)
	}
}

// The control plane's own runner (in-process ECS calls, output followed over
// its gRPC) runs a function in its Lambda cluster.
func TestControlPlaneRunnerOnDocker(t *testing.T) {
	dockertest.Client(t)
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var mu sync.Mutex
	var lines []string
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, Logger: log,
		Lambda: controlplane.LambdaRunnerConfig{Idle: time.Minute, Log: func(fn invoke.Function, env string, line []byte) {
			mu.Lock()
			lines = append(lines, string(line))
			mu.Unlock()
		}}})
	if _, err := c.ECS.CreateCluster(c.Ctx, &berthv1.CreateClusterRequest{ClusterName: environments.DefaultCluster}); err != nil {
		t.Fatal(err)
	}
	c.StartAgent(t, agent.Config{Cluster: environments.DefaultCluster, Runtime: rt, CPU: 4096, Memory: 4096, Logger: log,
		RemoveContainersOnExit: true, Engine: engine.Options{StopTimeout: 2 * time.Second}})
	cptest.Eventually(t, "the agent in berth-lambda", func() bool {
		l, err := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{Cluster: environments.DefaultCluster})
		return err == nil && len(l.ContainerInstanceArns) == 1
	})
	r := mustCall(t, c.CP.LambdaRunner(), lambdaFunction(t, "cp"), `{"op":"echo","value":"cp"}`)
	if string(r.Payload) != `"cp"` || r.InitDuration <= 0 {
		t.Errorf("%+v %s", r, r.Payload)
	}
	cptest.Eventually(t, "the function's output in its log stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(strings.Join(lines, "\n"), "lambdafn handling echo")
	})
}
