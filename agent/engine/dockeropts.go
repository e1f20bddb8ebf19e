package engine

import (
	"strconv"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// A container definition's Docker settings, as the runtime takes them. Registration
// (ecs/taskdef) has refused what berth cannot honour and the combinations
// Docker would refuse, so that nothing here is dropped.

// Log drivers that stand for an AWS service berth does not have. Their output is
// kept on the agent as json-file, so that `berth logs` (GetTaskLogs) reads it.
const (
	logDriverAWSLogs     = "awslogs"
	logDriverAWSFirelens = "awsfirelens"
	logDriverJSONFile    = "json-file"
)

// defaultSwappiness is ECS's swappiness for a container with maxSwap and no
// swappiness of its own.
const defaultSwappiness = 60

// Task namespace modes (pidMode, ipcMode).
const (
	namespaceHost = "host"
	namespaceTask = "task"
	namespaceNone = "none"
)

// applyDockerSettings copies def's Docker settings into s.
func applyDockerSettings(s *runtime.ContainerSpec, def *berthv1.ContainerDefinition) {
	s.Hostname = def.GetHostname()
	s.DNSServers = def.GetDnsServers()
	s.DNSSearchDomains = def.GetDnsSearchDomains()
	for _, h := range def.GetExtraHosts() {
		s.ExtraHosts = append(s.ExtraHosts, runtime.HostEntry{Hostname: h.GetHostname(), IPAddress: h.GetIpAddress()})
	}
	s.NetworkDisabled = def.GetDisableNetworking()
	s.Privileged = def.GetPrivileged()
	s.ReadonlyRootFilesystem = def.GetReadonlyRootFilesystem()
	s.SecurityOptions = def.GetDockerSecurityOptions()
	s.Interactive = def.GetInteractive()
	s.PseudoTerminal = def.GetPseudoTerminal()
	s.Sysctls = sysctls(def.GetSystemControls())
	s.Log = logConfig(def.GetLogConfiguration())
	s.GPUs = gpuCount(def.GetResourceRequirements())
	applyLinuxParameters(s, def.GetLinuxParameters())
}

// applyLinuxParameters copies linuxParameters into s.
func applyLinuxParameters(s *runtime.ContainerSpec, lp *berthv1.LinuxParameters) {
	if lp == nil {
		return
	}
	s.InitProcessEnabled = lp.GetInitProcessEnabled()
	s.CapAdd = lp.GetCapabilities().GetAdd()
	s.CapDrop = lp.GetCapabilities().GetDrop()
	for _, d := range lp.GetDevices() {
		s.Devices = append(s.Devices, runtime.Device{HostPath: d.GetHostPath(), ContainerPath: d.GetContainerPath(),
			Permissions: d.GetPermissions()})
	}
	s.SharedMemorySize = int64(lp.GetSharedMemorySize())
	for _, t := range lp.GetTmpfs() {
		s.Tmpfs = append(s.Tmpfs, runtime.Tmpfs{ContainerPath: t.GetContainerPath(), Size: int64(t.GetSize()),
			MountOptions: t.GetMountOptions()})
	}
	if lp.MaxSwap != nil {
		s.MaxSwap = new(int64(lp.GetMaxSwap()))
		s.Swappiness = new(int64(defaultSwappiness))
	}
	if lp.Swappiness != nil {
		s.Swappiness = new(int64(lp.GetSwappiness()))
	}
}

// applyNamespaces sets the host's PID and IPC namespaces, or none, as the task's
// pidMode and ipcMode ask. "task" is the task's own namespace, which its containers
// join when they are created (createSpec).
func applyNamespaces(s *runtime.ContainerSpec, td *berthv1.TaskDefinition) {
	if td.GetPidMode() == namespaceHost {
		s.PidMode = runtime.NamespaceHost
	}
	switch td.GetIpcMode() {
	case namespaceHost:
		s.IpcMode = runtime.NamespaceHost
	case namespaceNone:
		s.IpcMode = runtime.NamespaceNone
	}
}

// sysctls are systemControls as the runtime takes them.
func sysctls(scs []*berthv1.SystemControl) map[string]string {
	if len(scs) == 0 {
		return nil
	}
	out := make(map[string]string, len(scs))
	for _, sc := range scs {
		out[sc.GetNamespace()] = sc.GetValue()
	}
	return out
}

// logConfig is the container's log driver. awslogs and awsfirelens send the output
// to services berth does not have: until it has them, the output stays on the agent
// as json-file (their options name their services and mean nothing to json-file).
// Every other driver is Docker's own, with ECS's options as they are.
func logConfig(lc *berthv1.LogConfiguration) *runtime.LogConfig {
	if lc == nil {
		return nil
	}
	switch lc.GetLogDriver() {
	case logDriverAWSLogs, logDriverAWSFirelens:
		return &runtime.LogConfig{Driver: logDriverJSONFile}
	}
	return &runtime.LogConfig{Driver: lc.GetLogDriver(), Options: lc.GetOptions()}
}

// gpuCount is how many GPUs resourceRequirements ask for.
func gpuCount(rrs []*berthv1.ResourceRequirement) int {
	n := 0
	for _, rr := range rrs {
		if v, err := strconv.Atoi(rr.GetValue()); err == nil && rr.GetType() == "GPU" {
			n += v
		}
	}
	return n
}
