package engine

import (
	"strconv"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

func owner(a *berthv1.TaskAssignment, container string, opts Options) runtime.Owner {
	return runtime.Owner{
		TaskARN:              a.GetTask().GetTaskArn(),
		ContainerName:        container,
		Cluster:              a.GetTask().GetClusterArn(),
		ContainerInstanceARN: opts.ContainerInstanceARN,
	}
}

// containerSpec translates a container definition, with the task's container overrides
// applied, into what the runtime creates. An awsvpc container's NetworkMode is set when
// it is created, once its pause container has an id.
func containerSpec(a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition, opts Options) runtime.ContainerSpec {
	o := containerOverride(a, def.GetName())
	s := runtime.ContainerSpec{
		Name:              runtimeName(a.GetTaskDefinition(), a.GetTask().GetTaskArn(), def.GetName()),
		Image:             def.GetImage(),
		Owner:             owner(a, def.GetName(), opts),
		DockerLabels:      def.GetDockerLabels(),
		EntryPoint:        def.GetEntryPoint(),
		Command:           def.GetCommand(),
		Environment:       environment(def.GetEnvironment(), o.GetEnvironment()),
		WorkingDirectory:  def.GetWorkingDirectory(),
		User:              def.GetUser(),
		CPU:               int64(def.GetCpu()),
		Memory:            int64(def.GetMemory()),
		MemoryReservation: int64(def.GetMemoryReservation()),
		NetworkMode:       networkMode(a),
		HealthCheck:       healthCheck(def.GetHealthCheck()),
		StopTimeout:       opts.StopTimeout,
	}
	applyDockerSettings(&s, def)
	s.Environment = taskEnvironment(a, def.GetName(), s.Environment, opts)
	applySecretLogOptions(&s, a, def)
	applyNamespaces(&s, a.GetTaskDefinition())
	if s.NetworkDisabled {
		s.NetworkMode = runtime.NetworkNone // nothing to publish, link or join
	}
	applyOverride(&s, o)
	applyLimits(&s, a, def.GetName())
	if def.StopTimeout != nil {
		s.StopTimeout = time.Duration(def.GetStopTimeout()) * time.Second
	}
	for _, u := range def.GetUlimits() {
		s.Ulimits = append(s.Ulimits, runtime.Ulimit{Name: u.GetName(), SoftLimit: int64(u.GetSoftLimit()), HardLimit: int64(u.GetHardLimit())})
	}
	s.Mounts = mounts(a, def, volumeSources(a, opts))
	s.PortMappings = portMappings(s.NetworkMode, def.GetPortMappings())
	if s.NetworkMode == runtime.NetworkBridge {
		s.Links = links(a, def.GetLinks())
	}
	return s
}

// applyOverride applies a RunTask container override's command and resources (its
// environment is merged by environment).
func applyOverride(s *runtime.ContainerSpec, o *berthv1.ContainerOverride) {
	if o == nil {
		return
	}
	if len(o.GetCommand()) > 0 {
		s.Command = o.GetCommand()
	}
	if o.Cpu != nil {
		s.CPU = int64(o.GetCpu())
	}
	if o.Memory != nil {
		s.Memory = int64(o.GetMemory())
	}
	if o.MemoryReservation != nil {
		s.MemoryReservation = int64(o.GetMemoryReservation())
	}
}

// applyLimits sizes the container by the limits the control plane worked
// out (the task definition's with the task's overrides); a container with no
// memory limit of its own is bounded by the task's memory. An assignment
// without limits (from an older control plane) keeps the sizes applyOverride
// set.
func applyLimits(s *runtime.ContainerSpec, a *berthv1.TaskAssignment, name string) {
	taskMemory, _ := strconv.ParseInt(a.GetTask().GetOverrides().GetMemory(), 10, 64)
	if taskMemory == 0 {
		taskMemory, _ = strconv.ParseInt(a.GetTaskDefinition().GetMemory(), 10, 64)
	}
	if l := a.GetLimits(); l != nil {
		taskMemory = int64(l.GetMemory())
		for _, c := range l.GetContainers() {
			if c.GetName() == name {
				s.CPU, s.Memory, s.MemoryReservation = int64(c.GetCpu()), int64(c.GetMemory()), int64(c.GetMemoryReservation())
			}
		}
	}
	if s.Memory == 0 {
		s.Memory = taskMemory
	}
}

func containerOverride(a *berthv1.TaskAssignment, name string) *berthv1.ContainerOverride {
	for _, o := range a.GetTask().GetOverrides().GetContainerOverrides() {
		if o.GetName() == name {
			return o
		}
	}
	return nil
}

// environment is the definition's environment with the override's on top.
func environment(def, override []*berthv1.KeyValuePair) map[string]string {
	env := make(map[string]string, len(def)+len(override))
	for _, kv := range append(append([]*berthv1.KeyValuePair(nil), def...), override...) {
		env[kv.GetName()] = kv.GetValue()
	}
	return env
}

// portMappings publishes ports in bridge mode (hostPort absent or 0: dynamic) and host
// mode (hostPort is containerPort). An awsvpc container joins its pause container's
// namespace and publishes nothing; a none-mode container has no network.
func portMappings(mode string, pms []*berthv1.PortMapping) []runtime.PortMapping {
	if mode != runtime.NetworkBridge && mode != runtime.NetworkHost {
		return nil
	}
	var out []runtime.PortMapping
	for _, pm := range pms {
		host := pm.GetHostPort()
		if mode == runtime.NetworkHost {
			host = pm.GetContainerPort()
		}
		out = append(out, runtime.PortMapping{ContainerPort: int(pm.GetContainerPort()), HostPort: int(host), Protocol: pm.GetProtocol()})
	}
	return out
}

// links turns "name:alias" (alias defaults to name) into the linked container's
// runtime name and the alias.
func links(a *berthv1.TaskAssignment, ls []string) []string {
	var out []string
	for _, l := range ls {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		out = append(out, runtimeName(a.GetTaskDefinition(), a.GetTask().GetTaskArn(), name)+":"+alias)
	}
	return out
}

// healthCheck converts ECS's seconds into durations.
func healthCheck(h *berthv1.HealthCheck) *runtime.HealthCheck {
	if h == nil || len(h.GetCommand()) == 0 {
		return nil
	}
	sec := func(n int32) time.Duration { return time.Duration(n) * time.Second }
	return &runtime.HealthCheck{
		Command:     h.GetCommand(),
		Interval:    sec(h.GetInterval()),
		Timeout:     sec(h.GetTimeout()),
		StartPeriod: sec(h.GetStartPeriod()),
		Retries:     int(h.GetRetries()),
	}
}
