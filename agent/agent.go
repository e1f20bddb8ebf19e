// Package agent is berth's container instance agent: it registers the
// instance with the control plane, keeps its session (agent/session), and runs
// the tasks it is assigned with the task engine (agent/engine) over a
// container runtime (agent/runtime: docker or hollow). It keeps its identity
// in a bbolt file in its data dir, so that a restarted agent is the same
// instance and re-adopts its containers.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/session"
	"github.com/berth/berth/agent/taskendpoint"
)

// Version is reported as the agent's version.
const Version = "berth-0.1.0"

// VolumesDir is the directory in the data dir where the engine keeps task-scoped
// volumes (engine.Options.VolumesDir), unless Config.Engine names another.
const VolumesDir = "volumes"

// DefaultReservedPorts are the TCP ports an instance registers as taken, as
// the ECS agent does.
var DefaultReservedPorts = []int{22, 2375, 2376, 51678, 51679}

// Config is what an agent needs.
type Config struct {
	ControlPlane string
	JoinToken    string
	Cluster      string
	// AvailabilityZone and InstanceType become the built-in attributes;
	// Attributes are custom ones.
	AvailabilityZone string
	InstanceType     string
	Attributes       map[string]string
	// CPU (units) and Memory (MiB) registered.
	CPU, Memory int
	Runtime     rt.Runtime
	DataDir     string
	Engine      engine.Options // Report and ContainerInstanceARN are set by the agent, VolumesDir if empty
	Logger      *slog.Logger
	// NoTaskEndpoint serves no task metadata or credentials endpoint to the
	// tasks' containers (agent/taskendpoint).
	NoTaskEndpoint bool
	// EditAssignment, for tests, changes each task assignment before the
	// engine sees it (credentials a control plane does not issue yet).
	EditAssignment func(*berthv1.TaskAssignment)
	// RemoveContainersOnExit removes the instance's containers when Run ends
	// (the -dev mode's Ctrl-C). Normally they are left running, to be
	// re-adopted.
	RemoveContainersOnExit bool
}

// Run runs the agent until ctx ends. It returns session.ErrJoinRefused
// (wrapped) when the control plane refuses the join token.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := openState(cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &agentRun{cfg: cfg, state: st, ctx: ctx, stop: cancel}
	if !cfg.NoTaskEndpoint {
		key, err := st.endpointKey()
		if err != nil {
			return err
		}
		ns, _ := cfg.Runtime.(rt.NetworkNamespacer)
		ep, err := taskendpoint.New(taskendpoint.Config{
			Key:              key,
			Runtime:          cfg.Runtime,
			Namespaces:       ns != nil && ns.NetworkNamespaces(),
			AvailabilityZone: cfg.AvailabilityZone,
			Logger:           cfg.Logger,
		})
		if err != nil {
			return err
		}
		defer ep.Close()
		a.endpoint = ep
	}
	a.session = session.New(session.Config{
		ControlPlane: cfg.ControlPlane, JoinToken: cfg.JoinToken, CertDir: cfg.DataDir, Logger: cfg.Logger,
		Register: a.register, Registered: a.registered, Assign: a.assign, Logs: a.logs, Exec: a.exec,
		Credentials: a.credentials, Heartbeat: a.heartbeat,
	})
	defer a.engines.Wait()
	err = a.session.Run(ctx)
	cancel()
	a.engines.Wait()
	if cfg.RemoveContainersOnExit {
		a.removeContainers()
	}
	if eerr := a.engineErr(); eerr != nil && !errors.Is(eerr, context.Canceled) {
		return eerr
	}
	return err
}

// agentRun is one run of the agent.
type agentRun struct {
	cfg      Config
	ctx      context.Context // the run's: the engine lives as long as the agent
	stop     context.CancelFunc
	state    *state
	session  *session.Session
	endpoint *taskendpoint.Server // nil with NoTaskEndpoint
	metrics  *metricsSampler      // set with the engine

	mu        sync.Mutex
	engine    *engine.Engine
	engineARN string
	runErr    error
	engines   sync.WaitGroup
}

// register is the registration sent at each (re)connect.
func (a *agentRun) register(ctx context.Context) (*berthv1.RegisterInstance, error) {
	running, err := a.runningTasks(ctx)
	if err != nil {
		return nil, err
	}
	attrs := []*berthv1.Attribute{
		{Name: "ecs.availability-zone", Value: a.cfg.AvailabilityZone},
		{Name: "ecs.instance-type", Value: a.cfg.InstanceType},
		{Name: "ecs.os-type", Value: "linux"},
		{Name: "ecs.cpu-architecture", Value: cpuArchitecture()},
	}
	for k, v := range a.cfg.Attributes {
		attrs = append(attrs, &berthv1.Attribute{Name: k, Value: v})
	}
	ports := make([]string, len(DefaultReservedPorts))
	for i, p := range DefaultReservedPorts {
		ports[i] = strconv.Itoa(p)
	}
	return &berthv1.RegisterInstance{
		Cluster:    a.cfg.Cluster,
		InstanceId: a.state.instanceID(),
		RegisteredResources: []*berthv1.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(int32(a.cfg.CPU))},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: proto.Int32(int32(a.cfg.Memory))},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports},
			{Name: "PORTS_UDP", Type: "STRINGSET"},
		},
		Attributes:      attrs,
		VersionInfo:     &berthv1.VersionInfo{AgentVersion: Version},
		RunningTaskArns: running,
	}, nil
}

// runningTasks lists the tasks whose containers this instance has, found by
// label: those of the engine once it runs, else those of the ARN the agent
// last had.
func (a *agentRun) runningTasks(ctx context.Context) ([]string, error) {
	a.mu.Lock()
	e := a.engine
	a.mu.Unlock()
	if e != nil {
		return e.RunningTasks(ctx)
	}
	arn := a.state.instanceARN()
	if arn == "" {
		return nil, nil
	}
	cs, err := a.cfg.Runtime.List(ctx, map[string]string{rt.LabelInstanceARN: arn})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if t := c.Labels[rt.LabelTaskARN]; t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// registered starts the engine at the first registration. The instance keeps
// its ARN across reconnects; a different one means it was deregistered and is
// a new instance now, which needs a fresh agent.
func (a *agentRun) registered(_ context.Context, r *berthv1.Registered) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.engine != nil {
		if r.ContainerInstanceArn != a.engineARN {
			return fmt.Errorf("the control plane registered this agent as %s, but it runs tasks as %s: restart the agent", r.ContainerInstanceArn, a.engineARN)
		}
		return nil
	}
	if err := a.state.setInstanceARN(r.ContainerInstanceArn); err != nil {
		return err
	}
	opts := a.cfg.Engine
	opts.ContainerInstanceARN = r.ContainerInstanceArn
	opts.Report = a.session.Report
	opts.Logger = a.cfg.Logger
	if a.endpoint != nil && opts.TaskEndpoint == nil {
		opts.TaskEndpoint = a.endpoint
	}
	if opts.VolumesDir == "" {
		opts.VolumesDir = filepath.Join(a.cfg.DataDir, VolumesDir)
	}
	e, err := engine.New(a.cfg.Runtime, opts)
	if err != nil {
		return err
	}
	a.engine, a.engineARN = e, r.ContainerInstanceArn
	a.metrics = newMetricsSampler(a.cfg.Runtime, r.ContainerInstanceArn, a.cfg.Logger)
	a.engines.Add(1)
	go func() {
		defer a.engines.Done()
		a.metrics.run(a.ctx, max(time.Duration(r.HeartbeatPeriodMs)*time.Millisecond, 100*time.Millisecond))
	}()
	a.engines.Add(1)
	go func() {
		defer a.engines.Done()
		err := e.Run(a.ctx)
		a.mu.Lock()
		a.runErr = err
		a.mu.Unlock()
		a.stop() // without its engine the agent cannot go on
	}()
	return nil
}

func (a *agentRun) assign(ctx context.Context, as *berthv1.Assignments) error {
	a.mu.Lock()
	e, m := a.engine, a.metrics
	a.mu.Unlock()
	m.assigned(as)
	if edit := a.cfg.EditAssignment; edit != nil {
		for _, t := range as.GetTasks() {
			edit(t)
		}
	}
	return e.Assign(ctx, as)
}

// heartbeat fills a heartbeat with the latest sample of the running tasks'
// usage.
func (a *agentRun) heartbeat(hb *berthv1.Heartbeat) {
	a.mu.Lock()
	m := a.metrics
	a.mu.Unlock()
	if m != nil {
		hb.TaskMetrics = m.Latest()
	}
}

// credentials hands a running task's renewed role credentials to the task
// endpoint.
func (a *agentRun) credentials(tc *berthv1.TaskCredentials) {
	if a.endpoint == nil || !a.endpoint.Credentials(tc) {
		a.cfg.Logger.Debug("renewed credentials for a task this agent does not serve", "task", tc.GetTaskArn())
	}
}

func (a *agentRun) engineErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runErr
}

// cpuArchitecture is ecs.cpu-architecture's value for this machine.
func cpuArchitecture() string {
	if runtime.GOARCH == "amd64" {
		return "x86_64"
	}
	return runtime.GOARCH
}

// removeContainers removes every container of the instance.
func (a *agentRun) removeContainers() {
	arn := a.state.instanceARN()
	if arn == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := a.cfg.Runtime.List(ctx, map[string]string{rt.LabelInstanceARN: arn})
	if err != nil {
		a.cfg.Logger.Warn("could not list the instance's containers to remove them", "err", err)
		return
	}
	for _, c := range cs {
		if err := a.cfg.Runtime.Remove(ctx, c.ID); err != nil {
			a.cfg.Logger.Warn("could not remove a container", "id", c.ID, "err", err)
		}
	}
	a.cfg.Logger.Info("removed the instance's containers", "count", len(cs))
}
