package environments

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda/envplan"
)

// fakeECS records the launcher's calls; its tasks stop when told.
type fakeECS struct {
	mu       sync.Mutex
	clusters int
	defs     []*berthv1.RegisterTaskDefinitionRequest
	runs     []*berthv1.RunTaskRequest
	stops    []string
	task     *berthv1.Task // what DescribeTasks returns
	noPlace  bool
}

func (f *fakeECS) CreateCluster(ctx context.Context, r *berthv1.CreateClusterRequest) (*berthv1.CreateClusterResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusters++
	return &berthv1.CreateClusterResponse{}, nil
}

func (f *fakeECS) RegisterTaskDefinition(ctx context.Context, r *berthv1.RegisterTaskDefinitionRequest) (*berthv1.RegisterTaskDefinitionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defs = append(f.defs, r)
	return &berthv1.RegisterTaskDefinitionResponse{TaskDefinition: &berthv1.TaskDefinition{TaskDefinitionArn: "td/" + r.Family}}, nil
}

func (f *fakeECS) RunTask(ctx context.Context, r *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, r)
	if f.noPlace {
		return &berthv1.RunTaskResponse{Failures: []*berthv1.Failure{{Reason: "RESOURCE:MEMORY"}}}, nil
	}
	return &berthv1.RunTaskResponse{Tasks: []*berthv1.Task{{TaskArn: "task/1", LastStatus: "PROVISIONING"}}}, nil
}

func (f *fakeECS) DescribeTasks(ctx context.Context, r *berthv1.DescribeTasksRequest) (*berthv1.DescribeTasksResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.task
	if t == nil {
		t = &berthv1.Task{TaskArn: "task/1", LastStatus: "RUNNING"}
	}
	return &berthv1.DescribeTasksResponse{Tasks: []*berthv1.Task{proto.Clone(t).(*berthv1.Task)}}, nil
}

func (f *fakeECS) StopTask(ctx context.Context, r *berthv1.StopTaskRequest) (*berthv1.StopTaskResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, r.Task)
	return &berthv1.StopTaskResponse{}, nil
}

func TestECSLauncher(t *testing.T) {
	ecs := &fakeECS{}
	l := NewECSLauncher(ECSConfig{ECS: ecs, Poll: 5 * time.Millisecond, DockerLabels: map[string]string{"x": "1"}})
	fn := function("f")
	fn.MemoryMB, fn.EphemeralStorageMB = 1769, 1024
	fn.EntryPoint, fn.Command, fn.WorkingDirectory = []string{"/bin/run"}, []string{"arg"}, "/work"
	p := &Pool{cfg: Config{Region: "us-east-1", Now: time.Now}}
	spec := Spec{ID: "env1", Function: fn, Image: "img:1", Environment: p.environment(fn, "env1", "127.0.0.1:9001")}
	inst, err := l.Launch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	// The same configuration reuses the definition.
	inst2, err := l.Launch(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(ecs.defs) != 1 || len(ecs.runs) != 2 || ecs.clusters != 1 {
		t.Fatalf("defs %d runs %d clusters %d", len(ecs.defs), len(ecs.runs), ecs.clusters)
	}
	td := ecs.defs[0]
	c := td.ContainerDefinitions[0]
	if td.Family != "lambda-f" || td.NetworkMode != "host" || c.Image != "img:1" || c.GetMemory() != 1769 || c.Cpu != 1024 ||
		c.LinuxParameters.Tmpfs[0].ContainerPath != "/tmp" || c.LinuxParameters.Tmpfs[0].Size != 1024 ||
		c.EntryPoint[0] != "/bin/run" || c.Command[0] != "arg" || c.WorkingDirectory != "/work" || c.DockerLabels["x"] != "1" {
		t.Errorf("task definition %v", td)
	}
	for _, kv := range c.Environment {
		if kv.Name == "AWS_LAMBDA_RUNTIME_API" || kv.Name == "AWS_LAMBDA_LOG_STREAM_NAME" {
			t.Errorf("%s in the task definition", kv.Name)
		}
	}
	run := ecs.runs[0]
	over := map[string]string{}
	for _, kv := range run.Overrides.ContainerOverrides[0].Environment {
		over[kv.Name] = kv.Value
	}
	if run.Cluster != DefaultCluster || run.LaunchType != "EC2" || over["AWS_LAMBDA_RUNTIME_API"] != "127.0.0.1:9001" ||
		!strings.Contains(over["AWS_LAMBDA_LOG_STREAM_NAME"], "[$LATEST]env1") {
		t.Errorf("run %v", run)
	}
	// The task stops: the instance is done with its exit.
	code := int32(3)
	ecs.mu.Lock()
	ecs.task = &berthv1.Task{TaskArn: "task/1", LastStatus: "STOPPED", Containers: []*berthv1.Container{{Name: ContainerName, ExitCode: &code}}}
	ecs.mu.Unlock()
	select {
	case <-inst.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not done after the task stopped")
	}
	if e := inst.Exit(); e.Code != 3 {
		t.Errorf("exit %+v", e)
	}
	<-inst2.Done()
	if err := inst.Stop(context.Background()); err != nil {
		t.Error(err)
	}
	inst2.Stop(context.Background())
	if len(ecs.stops) != 2 {
		t.Errorf("stops %v", ecs.stops)
	}

	ecs.noPlace = true
	if _, err := l.Launch(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "RESOURCE:MEMORY") {
		t.Errorf("no capacity: %v", err)
	}
}

func TestTaskExit(t *testing.T) {
	code := func(n int32) *int32 { return &n }
	for _, tc := range []struct {
		name string
		task *berthv1.Task
		want envplan.Exit
	}{
		{"exit code", &berthv1.Task{Containers: []*berthv1.Container{{Name: ContainerName, ExitCode: code(2)}}}, envplan.Exit{Code: 2}},
		{"oom", &berthv1.Task{Containers: []*berthv1.Container{{Name: ContainerName, ExitCode: code(137),
			Reason: "OutOfMemoryError: Container killed due to memory usage"}}},
			envplan.Exit{Code: 137, OOMKilled: true, Reason: "OutOfMemoryError: Container killed due to memory usage"}},
		{"cannot start", &berthv1.Task{Containers: []*berthv1.Container{{Name: ContainerName,
			Reason: "CannotStartContainerError: exec: no such file"}}},
			envplan.Exit{Code: 127, StartFailed: true, Reason: "CannotStartContainerError: exec: no such file"}},
		{"no exit code", &berthv1.Task{StoppedReason: "Host lost", Containers: []*berthv1.Container{{Name: ContainerName}}},
			envplan.Exit{Code: -1, Reason: "Host lost"}},
	} {
		if got := TaskExit(tc.task); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
