package docker

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/berth/berth/agent/runtime"
)

// The parts of a container's host config that ECS's linuxParameters and the
// container definition's Docker options set: devices, GPUs, privileges,
// capabilities, namespaces, DNS, tmpfs and logging.

// devices renders ECS's devices as Docker's device mappings: permissions read,
// write and mknod become cgroup's "rwm"; none is all three, as ECS means it.
func devices(in []runtime.Device) ([]container.DeviceMapping, error) {
	var out []container.DeviceMapping
	for _, d := range in {
		target := d.ContainerPath
		if target == "" {
			target = d.HostPath
		}
		if !filepath.IsAbs(d.HostPath) || !filepath.IsAbs(target) {
			return nil, fmt.Errorf("device %q on %q: want absolute paths", d.HostPath, target)
		}
		perms, err := cgroupPermissions(d.Permissions)
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", d.HostPath, err)
		}
		out = append(out, container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: target, CgroupPermissions: perms})
	}
	return out, nil
}

// cgroupPermissions turns ECS's device permission names into cgroup's letters.
func cgroupPermissions(perms []string) (string, error) {
	if len(perms) == 0 {
		return "rwm", nil
	}
	var b strings.Builder
	for _, p := range perms {
		switch p {
		case "read":
			b.WriteByte('r')
		case "write":
			b.WriteByte('w')
		case "mknod":
			b.WriteByte('m')
		default:
			return "", fmt.Errorf("permission %q: want read, write or mknod", p)
		}
	}
	return b.String(), nil
}

// gpus asks Docker for n GPUs of its GPU driver (nvidia), as the ECS agent does for
// resourceRequirements GPU. A host without the driver fails the container's start
// with Docker's own error.
func gpus(n int) []container.DeviceRequest {
	if n <= 0 {
		return nil
	}
	return []container.DeviceRequest{{Driver: "nvidia", Count: n, Capabilities: [][]string{{"gpu"}}}}
}

// applySecurity sets privileges, capabilities, security options, sysctls and a
// read-only root filesystem.
func applySecurity(spec runtime.ContainerSpec, hc *container.HostConfig) {
	hc.Privileged = spec.Privileged
	hc.ReadonlyRootfs = spec.ReadonlyRootFilesystem
	hc.CapAdd = spec.CapAdd
	hc.CapDrop = spec.CapDrop
	hc.SecurityOpt = spec.SecurityOptions
	hc.Sysctls = spec.Sysctls
}

// applyNamespaces sets the PID and IPC namespaces and the size of /dev/shm.
func applyNamespaces(spec runtime.ContainerSpec, hc *container.HostConfig) {
	hc.PidMode = container.PidMode(spec.PidMode)
	hc.IpcMode = container.IpcMode(spec.IpcMode)
	hc.ShmSize = spec.SharedMemorySize * mib
}

// applyDNS sets name servers, search domains and extra /etc/hosts lines.
func applyDNS(spec runtime.ContainerSpec, hc *container.HostConfig) {
	hc.DNS = spec.DNSServers
	hc.DNSSearch = spec.DNSSearchDomains
	for _, h := range spec.ExtraHosts {
		hc.ExtraHosts = append(hc.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
}

// tmpfs renders tmpfs mounts as Docker's path -> "size=Nm,options".
func tmpfs(in []runtime.Tmpfs) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for _, t := range in {
		opts := t.MountOptions
		if t.Size > 0 {
			opts = append([]string{fmt.Sprintf("size=%dm", t.Size)}, opts...)
		}
		out[t.ContainerPath] = strings.Join(opts, ",")
	}
	return out
}

// logConfig is the container's log driver; nil leaves the daemon's default.
func logConfig(l *runtime.LogConfig) container.LogConfig {
	if l == nil {
		return container.LogConfig{}
	}
	return container.LogConfig{Type: l.Driver, Config: l.Options}
}
