package environments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda/envplan"
)

// DefaultCluster is the cluster whose instances run execution environments:
// berth makes it when it does not exist; agents join it to lend their
// capacity to Lambda.
const DefaultCluster = "berth-lambda"

// ContainerName is the one container of an environment's task.
const ContainerName = "function"

// An environment's task is started by StartedBy and tagged EnvironmentTag
// with the environment's id.
const (
	StartedBy      = "lambda"
	EnvironmentTag = "lambda:environment"
)

// IsEnvironment says whether task is an execution environment's: started
// by the launcher in cluster (a name). Its role's credentials then go into
// its variables (Lambda's AWS_ACCESS_KEY_ID, ...), and last
// CredentialsLifetime. berth has no IAM: whoever runs a task like it could
// run one with the same role anyway.
func IsEnvironment(task *berthv1.Task, cluster string) bool {
	if task.GetStartedBy() != StartedBy || !strings.HasSuffix(task.GetClusterArn(), ":cluster/"+cluster) {
		return false
	}
	for _, t := range task.GetTags() {
		if t.GetKey() == EnvironmentTag && t.GetValue() != "" {
			return true
		}
	}
	return false
}

// ECS is the part of ECS's API the launcher uses (*ecsapi.Server has these
// methods; ECSClient adapts a gRPC client).
type ECS interface {
	CreateCluster(context.Context, *berthv1.CreateClusterRequest) (*berthv1.CreateClusterResponse, error)
	RegisterTaskDefinition(context.Context, *berthv1.RegisterTaskDefinitionRequest) (*berthv1.RegisterTaskDefinitionResponse, error)
	RunTask(context.Context, *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error)
	DescribeTasks(context.Context, *berthv1.DescribeTasksRequest) (*berthv1.DescribeTasksResponse, error)
	StopTask(context.Context, *berthv1.StopTaskRequest) (*berthv1.StopTaskResponse, error)
}

// TaskLogs follows the output of a task's container into w until the task
// stops or ctx ends (berth's GetTaskLogs with follow).
type TaskLogs func(ctx context.Context, cluster, task string, w io.Writer) error

// ECSConfig configures an ECSLauncher.
type ECSConfig struct {
	ECS ECS
	// Logs follows an environment's output; nil: only the pool's lines.
	Logs TaskLogs
	// Cluster runs the environments (DefaultCluster when empty).
	Cluster string
	// Poll is how often a starting or running environment's task is
	// described (200 ms when 0).
	Poll time.Duration
	// DockerLabels go on every environment's container (tests label theirs).
	DockerLabels map[string]string
	// Memory reads an environment's peak memory (Max Memory Used); nil:
	// reported as 0.
	Memory MemoryMeter
	Logger *slog.Logger
}

// ECSLauncher runs execution environments as ECS tasks placed by berth's
// scheduler on the instances of one cluster: a task definition per function
// version and configuration (family lambda-NAME; network mode host, so the
// container reaches its Runtime API on 127.0.0.1; the memory limit is the
// function's MemorySize and its CPU in proportion; /tmp a tmpfs of its
// EphemeralStorage; ImageConfig's entrypoint, command and working
// directory), and a task per environment whose environment variables carry
// its Runtime API's address. An instance's goroutine describes its task until
// it stops, and follows its output.
type ECSLauncher struct {
	cfg ECSConfig
	log *slog.Logger

	mu      sync.Mutex
	cluster bool              // the cluster exists
	defs    map[string]string // Key -> task definition ARN
}

// NewECSLauncher makes a launcher.
func NewECSLauncher(cfg ECSConfig) *ECSLauncher {
	if cfg.Cluster == "" {
		cfg.Cluster = DefaultCluster
	}
	if cfg.Poll == 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &ECSLauncher{cfg: cfg, log: cfg.Logger, defs: map[string]string{}}
}

// perEnv are the variables that differ between environments of one
// definition: they go in the task's overrides.
var perEnv = []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_STREAM_NAME"}

// TaskDefinition is the task definition of spec's function (perEnv left
// out).
func (l *ECSLauncher) TaskDefinition(spec Spec) *berthv1.RegisterTaskDefinitionRequest {
	fn := spec.Function
	var env []*berthv1.KeyValuePair
	for k, v := range spec.Environment {
		if !contains(perEnv, k) {
			env = append(env, &berthv1.KeyValuePair{Name: k, Value: v})
		}
	}
	sort.Slice(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	tmp := fn.EphemeralStorageMB
	if tmp <= 0 {
		tmp = 512
	}
	c := &berthv1.ContainerDefinition{
		Name: ContainerName, Image: spec.Image, Essential: proto.Bool(true),
		Memory: proto.Int32(fn.MemoryMB), Cpu: envplan.CPUUnits(fn.MemoryMB),
		EntryPoint: fn.EntryPoint, Command: fn.Command, WorkingDirectory: fn.WorkingDirectory,
		Environment:     env,
		LinuxParameters: &berthv1.LinuxParameters{Tmpfs: []*berthv1.Tmpfs{{ContainerPath: "/tmp", Size: tmp}}},
		StopTimeout:     proto.Int32(2),
		DockerLabels:    l.cfg.DockerLabels,
	}
	return &berthv1.RegisterTaskDefinitionRequest{
		Family: "lambda-" + fn.Name, NetworkMode: "host", RequiresCompatibilities: []string{"EC2"},
		// The execution role, as the task's role: the control plane issues
		// its credentials with the task's assignment (IsEnvironment).
		TaskRoleArn:          fn.Role,
		ContainerDefinitions: []*berthv1.ContainerDefinition{c},
		// ECS's tag values have no "$": $LATEST is tagged LATEST.
		Tags: []*berthv1.Tag{{Key: "lambda:function", Value: fn.Name}, {Key: "lambda:version", Value: strings.TrimPrefix(fn.Version, "$")}},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Launch registers the function's task definition (once per
// configuration) and runs a task of it.
func (l *ECSLauncher) Launch(ctx context.Context, spec Spec) (Instance, error) {
	key := Key(spec.Function) + "|" + spec.Image
	l.mu.Lock()
	def, haveCluster := l.defs[key], l.cluster
	l.mu.Unlock()
	if !haveCluster { // CreateCluster of an existing cluster returns it
		if _, err := l.cfg.ECS.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: l.cfg.Cluster}); err != nil {
			return nil, fmt.Errorf("creating the cluster %s: %w", l.cfg.Cluster, err)
		}
		l.mu.Lock()
		l.cluster = true
		l.mu.Unlock()
	}
	if def == "" {
		res, err := l.cfg.ECS.RegisterTaskDefinition(ctx, l.TaskDefinition(spec))
		if err != nil {
			return nil, fmt.Errorf("registering the task definition: %w", err)
		}
		def = res.GetTaskDefinition().GetTaskDefinitionArn()
		l.mu.Lock()
		l.defs[key] = def
		l.mu.Unlock()
	}
	var over []*berthv1.KeyValuePair
	for _, k := range perEnv {
		if v, ok := spec.Environment[k]; ok {
			over = append(over, &berthv1.KeyValuePair{Name: k, Value: v})
		}
	}
	res, err := l.cfg.ECS.RunTask(ctx, &berthv1.RunTaskRequest{
		Cluster: l.cfg.Cluster, TaskDefinition: def, LaunchType: "EC2", Count: 1, StartedBy: StartedBy,
		Overrides: &berthv1.TaskOverride{ContainerOverrides: []*berthv1.ContainerOverride{{Name: ContainerName, Environment: over}}},
		Tags:      []*berthv1.Tag{{Key: EnvironmentTag, Value: spec.ID}},
	})
	if err != nil {
		return nil, fmt.Errorf("running the environment's task: %w", err)
	}
	if len(res.GetTasks()) != 1 {
		var why []string
		for _, f := range res.GetFailures() {
			why = append(why, f.GetReason())
		}
		return nil, fmt.Errorf("no capacity for the environment in cluster %s: %s", l.cfg.Cluster, strings.Join(why, ", "))
	}
	rctx, cancel := context.WithCancel(context.Background())
	inst := &ecsInstance{l: l, task: res.Tasks[0].GetTaskArn(), out: spec.Output, done: make(chan struct{}), cancel: cancel}
	inst.wg.Add(1)
	go inst.watch(rctx)
	return inst, nil
}

// ecsInstance is one environment's task.
type ecsInstance struct {
	l      *ECSLauncher
	task   string
	out    io.Writer
	done   chan struct{}
	exit   envplan.Exit
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	stop   sync.Once

	mu        sync.Mutex
	container string // its runtime id, once known
	peakMB    int32
}

// MaxMemoryUsedMB implements MemoryReporter: the container's peak memory so
// far in MiB (rounded up), through ECSConfig.Memory; the last known when
// it cannot be read (the container is gone).
func (i *ecsInstance) MaxMemoryUsedMB() int32 {
	m := i.l.cfg.Memory
	if m == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	i.mu.Lock()
	id := i.container
	i.mu.Unlock()
	if id == "" {
		res, err := i.l.cfg.ECS.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Cluster: i.l.cfg.Cluster, Tasks: []string{i.task}})
		if err == nil && len(res.GetTasks()) == 1 {
			i.noteContainer(res.Tasks[0])
		}
		i.mu.Lock()
		id = i.container
		i.mu.Unlock()
	}
	var b int64
	var err error
	if id != "" {
		b, err = m.PeakBytes(ctx, id)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if id != "" && err == nil {
		i.peakMB = max(i.peakMB, int32((b+1<<20-1)>>20))
	}
	return i.peakMB
}

// noteContainer keeps the runtime id of the task's function container.
func (i *ecsInstance) noteContainer(task *berthv1.Task) {
	for _, c := range task.GetContainers() {
		if c.GetName() == ContainerName && c.GetRuntimeId() != "" {
			i.mu.Lock()
			i.container = c.GetRuntimeId()
			i.mu.Unlock()
		}
	}
}

func (i *ecsInstance) Done() <-chan struct{} { return i.done }
func (i *ecsInstance) Exit() envplan.Exit    { return i.exit }

func (i *ecsInstance) end(e envplan.Exit) {
	i.once.Do(func() { i.exit = e; close(i.done) })
}

// Stop stops the task and the instance's goroutines.
func (i *ecsInstance) Stop(ctx context.Context) error {
	var err error
	i.stop.Do(func() {
		_, err = i.l.cfg.ECS.StopTask(ctx, &berthv1.StopTaskRequest{Cluster: i.l.cfg.Cluster, Task: i.task, Reason: "Lambda execution environment stopped"})
		i.end(envplan.Exit{Code: 137, Reason: "stopped"})
		i.cancel()
		i.wg.Wait()
	})
	return err
}

// watch describes the task until it stops, and follows its output once it
// runs.
func (i *ecsInstance) watch(ctx context.Context) {
	defer i.wg.Done()
	t := time.NewTicker(i.l.cfg.Poll)
	defer t.Stop()
	following := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := i.l.cfg.ECS.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Cluster: i.l.cfg.Cluster, Tasks: []string{i.task}})
		if err != nil {
			if ctx.Err() == nil {
				i.l.log.Warn("lambda: describing an environment's task", "task", i.task, "err", err)
			}
			continue
		}
		if len(res.GetTasks()) != 1 {
			i.end(envplan.Exit{Code: -1, Reason: "the environment's task is gone"})
			return
		}
		task := res.Tasks[0]
		i.noteContainer(task)
		if !following && i.out != nil && i.l.cfg.Logs != nil && (task.GetLastStatus() == "RUNNING" || task.GetLastStatus() == "STOPPED") {
			following = true
			i.wg.Add(1)
			go func() {
				defer i.wg.Done()
				if err := i.l.cfg.Logs(ctx, i.l.cfg.Cluster, i.task, i.out); err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
					i.l.log.Debug("lambda: following an environment's output", "task", i.task, "err", err)
				}
			}()
		}
		if task.GetLastStatus() == "STOPPED" {
			i.end(TaskExit(task))
			return
		}
	}
}

// TaskExit is how a stopped environment's task ended.
func TaskExit(task *berthv1.Task) envplan.Exit {
	var c *berthv1.Container
	for _, x := range task.GetContainers() {
		if x.GetName() == ContainerName {
			c = x
		}
	}
	reason := c.GetReason()
	switch {
	case strings.HasPrefix(reason, "CannotStartContainerError") || strings.HasPrefix(reason, "CannotCreateContainerError"):
		return envplan.Exit{StartFailed: true, Code: 127, Reason: reason}
	case strings.HasPrefix(reason, "OutOfMemoryError"):
		return envplan.Exit{OOMKilled: true, Code: 137, Reason: reason}
	case c.ExitCode != nil:
		return envplan.Exit{Code: int(c.GetExitCode()), Reason: reason}
	}
	r := task.GetStoppedReason()
	if r == "" {
		r = reason
	}
	return envplan.Exit{Code: -1, Reason: r}
}

// ECSClient adapts ECS's gRPC client to ECS; Auth decorates each call's
// context (the admin token).
type ECSClient struct {
	C    berthv1.ECSClient
	Auth func(context.Context) context.Context
}

func (c ECSClient) ctx(ctx context.Context) context.Context {
	if c.Auth != nil {
		return c.Auth(ctx)
	}
	return ctx
}

func (c ECSClient) CreateCluster(ctx context.Context, r *berthv1.CreateClusterRequest) (*berthv1.CreateClusterResponse, error) {
	return c.C.CreateCluster(c.ctx(ctx), r)
}
func (c ECSClient) RegisterTaskDefinition(ctx context.Context, r *berthv1.RegisterTaskDefinitionRequest) (*berthv1.RegisterTaskDefinitionResponse, error) {
	return c.C.RegisterTaskDefinition(c.ctx(ctx), r)
}
func (c ECSClient) RunTask(ctx context.Context, r *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	return c.C.RunTask(c.ctx(ctx), r)
}
func (c ECSClient) DescribeTasks(ctx context.Context, r *berthv1.DescribeTasksRequest) (*berthv1.DescribeTasksResponse, error) {
	return c.C.DescribeTasks(c.ctx(ctx), r)
}
func (c ECSClient) StopTask(ctx context.Context, r *berthv1.StopTaskRequest) (*berthv1.StopTaskResponse, error) {
	return c.C.StopTask(c.ctx(ctx), r)
}

// GRPCTaskLogs follows a task's output through berth's GetTaskLogs.
func GRPCTaskLogs(b berthv1.BerthClient, auth func(context.Context) context.Context) TaskLogs {
	return func(ctx context.Context, cluster, task string, w io.Writer) error {
		if auth != nil {
			ctx = auth(ctx)
		}
		stream, err := b.GetTaskLogs(ctx, &berthv1.GetTaskLogsRequest{Cluster: cluster, Task: task, Container: ContainerName, Follow: true})
		if err != nil {
			return err
		}
		return copyLogs(stream, w)
	}
}

func copyLogs(stream grpc.ServerStreamingClient[berthv1.GetTaskLogsResponse], w io.Writer) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return err
		}
	}
}
