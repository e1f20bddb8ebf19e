package taskendpoint

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// TaskResponse is ${ECS_CONTAINER_METADATA_URI_V4}/task, as the ECS agent
// writes it (ecs-agent/tmds/handlers/v4/state.TaskResponse). v3 leaves out
// what v3 does not have.
type TaskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus,omitempty"`
	KnownStatus           string              `json:"KnownStatus"`
	Limits                *Limits             `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	Containers            []ContainerResponse `json:"Containers,omitempty"`
	ServiceName           string              `json:"ServiceName,omitempty"`
	ClockDrift            *ClockDrift         `json:"ClockDrift,omitempty"`
	FaultInjectionEnabled *bool               `json:"FaultInjectionEnabled,omitempty"`
	ContainerInstanceTags map[string]string   `json:"ContainerInstanceTags,omitempty"`
	TaskTags              map[string]string   `json:"TaskTags,omitempty"`
}

// ContainerResponse is ${ECS_CONTAINER_METADATA_URI_V4}, and each of a task's
// containers.
type ContainerResponse struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []Port            `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        Limits            `json:"Limits"`
	StartedAt     *time.Time        `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time        `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	Networks      []Network         `json:"Networks,omitempty"`
	Health        *Health           `json:"Health,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
}

// Limits are CPU (vCPUs for a task, CPU units for a container) and memory
// (MiB).
type Limits struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

// Port is a published port.
type Port struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

// Network is a network the container is on.
type Network struct {
	NetworkMode   string   `json:"NetworkMode,omitempty"`
	IPv4Addresses []string `json:"IPv4Addresses,omitempty"`
}

// Health is a container's health check status.
type Health struct {
	Status string `json:"status,omitempty"`
}

// ClockDrift is the host clock's error bound (milliseconds) and sync status.
type ClockDrift struct {
	ClockErrorBound            float64    `json:"ClockErrorBound,omitempty"`
	ReferenceTimestamp         *time.Time `json:"ReferenceTimestamp,omitempty"`
	ClockSynchronizationStatus string     `json:"ClockSynchronizationStatus,omitempty"`
}

// Clock statuses, as ECS names them.
const (
	ClockSynchronized    = "SYNCHRONIZED"
	ClockNotSynchronized = "NOT_SYNCHRONIZED"
)

// view is what the responses are made of: a task's record as the server
// holds it.
type view struct {
	a  *berthv1.TaskAssignment
	sc *berthv1.TaskStateChange
	// started is what the runtime said of each container once it ran, by
	// container name; the pause container's under pauseKey.
	started map[string]runtime.ContainerState
	// az is the instance's Availability Zone, for a task that names none.
	az string
}

// pauseKey is where an awsvpc task's pause container's state is kept in
// view.started.
const pauseKey = "~pause"

// taskResponse renders the task; v3 leaves out what v4 added.
func taskResponse(v view, version int, clock *ClockDrift) TaskResponse {
	t, td := v.a.GetTask(), v.a.GetTaskDefinition()
	r := TaskResponse{
		Cluster:          t.GetClusterArn(),
		TaskARN:          t.GetTaskArn(),
		Family:           td.GetFamily(),
		Revision:         strconv.Itoa(int(td.GetRevision())),
		DesiredStatus:    t.GetDesiredStatus(),
		KnownStatus:      v.knownStatus(),
		Limits:           taskLimits(v.a),
		PullStartedAt:    epochTime(v.sc.GetPullStartedAt()),
		PullStoppedAt:    epochTime(v.sc.GetPullStoppedAt()),
		AvailabilityZone: t.GetAvailabilityZone(),
		LaunchType:       t.GetLaunchType(),
	}
	if r.AvailabilityZone == "" {
		r.AvailabilityZone = v.az
	}
	if r.LaunchType == "" {
		r.LaunchType = "EC2"
	}
	r.ExecutionStoppedAt = epochTime(v.sc.GetExecutionStoppedAt())
	for _, def := range td.GetContainerDefinitions() {
		r.Containers = append(r.Containers, containerResponse(v, def.GetName(), version))
	}
	if version >= 4 {
		if svc, ok := strings.CutPrefix(t.GetGroup(), "service:"); ok {
			r.ServiceName = svc
		}
		r.ClockDrift = clock
		f := false
		r.FaultInjectionEnabled = &f
	}
	return r
}

func (v view) knownStatus() string {
	if s := v.sc.GetLastStatus(); s != "" {
		return s
	}
	return "PENDING"
}

// containerResponse renders the container named name.
func containerResponse(v view, name string, version int) ContainerResponse {
	def := definition(v.a, name)
	st := v.started[name]
	csc := containerChange(v.sc, name)
	r := ContainerResponse{
		DockerID:      csc.GetRuntimeId(),
		Name:          name,
		DockerName:    st.Name,
		Image:         def.GetImage(),
		ImageID:       csc.GetImageDigest(),
		Labels:        st.Labels,
		DesiredStatus: v.a.GetTask().GetDesiredStatus(),
		KnownStatus:   csc.GetLastStatus(),
		Limits:        containerLimits(v.a, def),
		StartedAt:     timeOrNil(st.StartedAt),
		Type:          "NORMAL",
		ContainerARN:  containerARN(v.a, name),
	}
	if r.DockerID == "" {
		r.DockerID = st.ID
	}
	if r.KnownStatus == "" {
		r.KnownStatus = "PENDING"
	}
	if r.Labels == nil && len(def.GetDockerLabels()) > 0 {
		r.Labels = def.GetDockerLabels()
	}
	if csc.GetLastStatus() == "STOPPED" && csc.ExitCode != nil {
		code := int(csc.GetExitCode())
		r.ExitCode = &code
	}
	mode := networkMode(v.a)
	for _, b := range csc.GetNetworkBindings() {
		r.Ports = append(r.Ports, Port{ContainerPort: uint16(b.GetContainerPort()), Protocol: protocol(b.GetProtocol()), HostPort: uint16(b.GetHostPort()), HostIP: b.GetBindIp()})
	}
	if len(r.Ports) == 0 && mode == "awsvpc" {
		for _, pm := range def.GetPortMappings() {
			r.Ports = append(r.Ports, Port{ContainerPort: uint16(pm.GetContainerPort()), Protocol: protocol(pm.GetProtocol()), HostPort: uint16(pm.GetContainerPort())})
		}
	}
	ips := st.IPv4Addresses
	if mode == "awsvpc" {
		ips = v.started[pauseKey].IPv4Addresses
	}
	if mode != "none" {
		r.Networks = []Network{{NetworkMode: mode, IPv4Addresses: ips}}
	}
	if def.GetHealthCheck() != nil {
		r.Health = &Health{Status: csc.GetHealthStatus()}
		if r.Health.Status == "" {
			r.Health.Status = "UNKNOWN"
		}
	}
	if lc := def.GetLogConfiguration(); lc != nil {
		r.LogDriver, r.LogOptions = lc.GetLogDriver(), lc.GetOptions()
	}
	return r
}

// statsResponse is a container's stats in Docker's shape: the runtime's
// sample, or, from a runtime that reports none, an empty one under the
// container's name and id.
func statsResponse(sample []byte, name, id string) json.RawMessage {
	if len(sample) > 0 {
		return sample
	}
	b, _ := json.Marshal(container.StatsResponse{Name: "/" + name, ID: id, Networks: map[string]container.NetworkStats{"eth0": {}}})
	return b
}

func networkMode(a *berthv1.TaskAssignment) string {
	switch m := a.GetTaskDefinition().GetNetworkMode(); m {
	case "":
		return "bridge"
	default:
		return m
	}
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func definition(a *berthv1.TaskAssignment, name string) *berthv1.ContainerDefinition {
	for _, d := range a.GetTaskDefinition().GetContainerDefinitions() {
		if d.GetName() == name {
			return d
		}
	}
	return nil
}

func containerChange(sc *berthv1.TaskStateChange, name string) *berthv1.ContainerStateChange {
	for _, c := range sc.GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

func containerARN(a *berthv1.TaskAssignment, name string) string {
	for _, c := range a.GetTask().GetContainers() {
		if c.GetName() == name {
			return c.GetContainerArn()
		}
	}
	return ""
}

// taskLimits are the task's vCPUs and MiB, when it has them.
func taskLimits(a *berthv1.TaskAssignment) *Limits {
	cpu, mem := int64(a.GetLimits().GetCpu()), int64(a.GetLimits().GetMemory())
	if a.GetLimits() == nil {
		cpu, _ = strconv.ParseInt(a.GetTaskDefinition().GetCpu(), 10, 64)
		mem, _ = strconv.ParseInt(a.GetTaskDefinition().GetMemory(), 10, 64)
	}
	if cpu == 0 && mem == 0 {
		return nil
	}
	l := &Limits{}
	if cpu > 0 {
		v := float64(cpu) / 1024
		l.CPU = &v
	}
	if mem > 0 {
		l.Memory = &mem
	}
	return l
}

// containerLimits are the container's CPU units and hard memory limit (or
// its reservation), as ECS reports them.
func containerLimits(a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition) Limits {
	cpu, mem := int64(def.GetCpu()), int64(def.GetMemory())
	if mem == 0 {
		mem = int64(def.GetMemoryReservation())
	}
	for _, c := range a.GetLimits().GetContainers() {
		if c.GetName() == def.GetName() {
			cpu, mem = int64(c.GetCpu()), int64(c.GetMemory())
			if mem == 0 {
				mem = int64(c.GetMemoryReservation())
			}
		}
	}
	fcpu := float64(cpu)
	l := Limits{CPU: &fcpu}
	if mem > 0 {
		l.Memory = &mem
	}
	return l
}

// epochTime is ECS's seconds since the epoch as a time, nil for 0.
func epochTime(s float64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(0, int64(s*1e9)).UTC()
	return &t
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// withTags is the task's response for ${URI}/taskWithTags: /task's with the
// task's tags (TaskTags) and its container instance's (ContainerInstanceTags,
// none: berth's agent is not given its instance's tags), as the ECS agent
// writes them.
func withTags(r TaskResponse, t *berthv1.Task) TaskResponse {
	if len(t.GetTags()) > 0 {
		r.TaskTags = make(map[string]string, len(t.GetTags()))
		for _, tag := range t.GetTags() {
			r.TaskTags[tag.GetKey()] = tag.GetValue()
		}
	}
	return r
}
