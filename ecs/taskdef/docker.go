package taskdef

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// A container definition's Docker settings. berth's agent gives every one it
// accepts to Docker; what it cannot honour is refused here, with the field and
// the reason, rather than dropped when the task runs. So are the combinations
// ECS refuses and Docker would fail (a hostname in awsvpc mode, ports on a
// container without networking).

// capabilities are the Linux capabilities ECS's KernelCapabilities take.
var capabilities = []string{"ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE",
	"DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE",
	"MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW",
	"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE",
	"SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
	"SYSLOG", "WAKE_ALARM"}

// tmpfsOptions are the mount options ECS's Tmpfs takes; those that carry a
// value (mode, uid, gid, nr_inodes, nr_blocks, mpol) are written NAME=VALUE.
var tmpfsOptions = []string{"defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"sync", "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime",
	"bind", "rbind", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave",
	"rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid", "nr_inodes",
	"nr_blocks", "mpol"}

// ipcSysctls are the sysctls of the IPC namespace (fs.mqueue.* too); the
// other namespaced ones are net.*. Nothing else is namespaced, so a container
// cannot set it without changing the host.
var ipcSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
	"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

// securityOptionPrefixes are the dockerSecurityOptions berth passes to Docker
// ("no-new-privileges" stands alone). credentialspec is Windows's.
var securityOptionPrefixes = []string{"apparmor:", "label:", "seccomp:"}

// checkDockerSettings checks container i's Docker settings.
func (t *task) checkDockerSettings(i int, c *berthv1.ContainerDefinition) error {
	checks := []func() error{
		func() error { return checkUnsupported(i, c) },
		func() error { return checkEnvironmentFiles(cpath(i, "environmentFiles"), c.GetEnvironmentFiles()) },
		func() error { return t.checkNetworkSettings(i, c) },
		func() error { return t.checkLinuxParameters(i, c) },
		func() error { return t.checkSystemControls(i, c) },
		func() error { return checkSecurityOptions(i, c) },
		func() error { return checkResourceRequirements(i, c) },
		func() error { return t.checkFargateDocker(i, c) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return t.checkSecrets(i, c)
}

// checkSecrets: each secret (and log driver secret option) names a
// variable (an option) and where its value is; which parameter or secret
// that is, and whether it exists, is seen when the task starts, on behalf
// of the execution role, which secrets need as in ECS.
func (t *task) checkSecrets(i int, c *berthv1.ContainerDefinition) error {
	if len(c.GetSecrets()) > 0 && t.td.ExecutionRoleArn == "" {
		return ecserr.Field("executionRoleArn", "is required when a container has secrets (they are read on its behalf)").
			Says("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.")
	}
	for _, list := range []struct {
		path    string
		secrets []*berthv1.Secret
	}{{"secrets", c.GetSecrets()}, {"logConfiguration.secretOptions", c.GetLogConfiguration().GetSecretOptions()}} {
		for j, s := range list.secrets {
			switch {
			case s.GetName() == "":
				return ecserr.Field(cpath(i, fmt.Sprintf("%s[%d].name", list.path, j)), "is required")
			case s.GetValueFrom() == "":
				return ecserr.Field(cpath(i, fmt.Sprintf("%s[%d].valueFrom", list.path, j)), "is required: an SSM parameter's name or ARN, or a Secrets Manager secret's ARN")
			}
		}
	}
	return nil
}

// checkUnsupported refuses what needs a service berth does not have.
func checkUnsupported(i int, c *berthv1.ContainerDefinition) error {
	switch {
	case c.RepositoryCredentials != nil && !strings.HasPrefix(c.RepositoryCredentials.CredentialsParameter, "arn:"):
		return ecserr.Field(cpath(i, "repositoryCredentials.credentialsParameter"),
			"must be the ARN of a Secrets Manager secret, got %q", c.RepositoryCredentials.CredentialsParameter)
	case len(c.CredentialSpecs) > 0:
		return ecserr.Field(cpath(i, "credentialSpecs"), "not supported: berth runs Linux containers only")
	case c.RestartPolicy.GetEnabled():
		return ecserr.Field(cpath(i, "restartPolicy.enabled"),
			"not supported by berth yet: its agent does not restart a container within its task (an essential container that exits stops the task)")
	}
	return nil
}

// checkNetworkSettings checks the settings Docker applies to a container's own
// network namespace: an awsvpc container joins its task's, which has them
// already; a container without networking has nothing to publish or link.
func (t *task) checkNetworkSettings(i int, c *berthv1.ContainerDefinition) error {
	if t.td.NetworkMode == "awsvpc" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"hostname", c.Hostname != ""}, {"dnsServers", len(c.DnsServers) > 0},
			{"dnsSearchDomains", len(c.DnsSearchDomains) > 0}, {"extraHosts", len(c.ExtraHosts) > 0}} {
			if f.set {
				return ecserr.Field(cpath(i, f.name), "not allowed in awsvpc network mode")
			}
		}
	}
	for k, h := range c.ExtraHosts {
		if h.Hostname == "" || h.IpAddress == "" || strings.Contains(h.Hostname, ":") {
			return ecserr.Field(cpath(i, fmt.Sprintf("extraHosts[%d]", k)), "needs a hostname (without ':') and an ipAddress")
		}
	}
	if c.GetDisableNetworking() {
		switch {
		case len(c.PortMappings) > 0:
			return ecserr.Field(cpath(i, "portMappings"), "not allowed with disableNetworking")
		case len(c.Links) > 0:
			return ecserr.Field(cpath(i, "links"), "not allowed with disableNetworking")
		}
	}
	return nil
}

// checkLinuxParameters checks capabilities, devices, shared memory, tmpfs and
// swap.
func (t *task) checkLinuxParameters(i int, c *berthv1.ContainerDefinition) error {
	lp := c.LinuxParameters
	if lp == nil {
		return nil
	}
	for _, check := range []func() error{
		func() error { return checkCapabilities(i, lp.Capabilities) },
		func() error { return checkDevices(i, lp.Devices) },
		func() error { return t.checkSharedMemory(i, lp.SharedMemorySize) },
		func() error { return checkTmpfs(i, lp.Tmpfs) },
		func() error { return t.checkSwap(i, c) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func checkCapabilities(i int, kc *berthv1.KernelCapabilities) error {
	for name, caps := range map[string][]string{"add": kc.GetAdd(), "drop": kc.GetDrop()} {
		for k, cp := range caps {
			if !slices.Contains(capabilities, cp) {
				return ecserr.Field(cpath(i, fmt.Sprintf("linuxParameters.capabilities.%s[%d]", name, k)),
					"must be a Linux capability as ECS names it (NET_ADMIN, SYS_PTRACE, ALL, ...), got %q", clip(cp))
			}
		}
	}
	return nil
}

func checkDevices(i int, devices []*berthv1.Device) error {
	for k, d := range devices {
		p := cpath(i, fmt.Sprintf("linuxParameters.devices[%d]", k))
		if !path.IsAbs(d.HostPath) {
			return ecserr.Field(p+".hostPath", "must be an absolute path, got %q", clip(d.HostPath))
		}
		if d.ContainerPath != "" && !path.IsAbs(d.ContainerPath) {
			return ecserr.Field(p+".containerPath", "must be an absolute path, got %q", clip(d.ContainerPath))
		}
		for j, perm := range d.Permissions {
			if perm != "read" && perm != "write" && perm != "mknod" {
				return ecserr.Field(fmt.Sprintf("%s.permissions[%d]", p, j), "must be read, write or mknod, got %q", clip(perm))
			}
		}
	}
	return nil
}

// checkSharedMemory checks sharedMemorySize (MiB): a container has its own
// /dev/shm only in its own IPC namespace.
func (t *task) checkSharedMemory(i int, size int32) error {
	p := cpath(i, "linuxParameters.sharedMemorySize")
	switch {
	case size < 0:
		return ecserr.Field(p, "must not be negative, got %d", size)
	case size > 0 && t.td.IpcMode != "":
		return ecserr.Field(p, "not allowed with ipcMode %s: the container has no /dev/shm of its own", t.td.IpcMode)
	}
	return nil
}

func checkTmpfs(i int, mounts []*berthv1.Tmpfs) error {
	for k, m := range mounts {
		p := cpath(i, fmt.Sprintf("linuxParameters.tmpfs[%d]", k))
		if !path.IsAbs(m.ContainerPath) {
			return ecserr.Field(p+".containerPath", "must be an absolute path, got %q", clip(m.ContainerPath))
		}
		if m.Size <= 0 {
			return ecserr.Field(p+".size", "must be a positive number of MiB, got %d", m.Size)
		}
		for j, opt := range m.MountOptions {
			name, _, _ := strings.Cut(opt, "=")
			if !slices.Contains(tmpfsOptions, name) {
				return ecserr.Field(fmt.Sprintf("%s.mountOptions[%d]", p, j), "%q is not a tmpfs mount option", clip(opt))
			}
		}
	}
	return nil
}

// checkSwap checks maxSwap and swappiness. Swap is counted on top of a hard
// memory limit, so maxSwap needs one; ECS ignores a swappiness without
// maxSwap, which berth refuses rather than drop.
func (t *task) checkSwap(i int, c *berthv1.ContainerDefinition) error {
	lp := c.LinuxParameters
	if lp.MaxSwap != nil {
		p := cpath(i, "linuxParameters.maxSwap")
		if *lp.MaxSwap < 0 {
			return ecserr.Field(p, "must not be negative, got %d", *lp.MaxSwap)
		}
		if c.Memory == nil && t.memory == 0 {
			return ecserr.Field(p, "needs a hard memory limit: the container's memory or the task's")
		}
	}
	if lp.Swappiness != nil {
		p := cpath(i, "linuxParameters.swappiness")
		if *lp.Swappiness < 0 || *lp.Swappiness > 100 {
			return ecserr.Field(p, "must be 0-100, got %d", *lp.Swappiness)
		}
		if lp.MaxSwap == nil {
			return ecserr.Field(p, "needs maxSwap")
		}
	}
	return nil
}

// checkSystemControls allows namespaced sysctls only, and not in a namespace
// the container shares with the host.
func (t *task) checkSystemControls(i int, c *berthv1.ContainerDefinition) error {
	for k, sc := range c.SystemControls {
		p := cpath(i, fmt.Sprintf("systemControls[%d]", k))
		ns := sc.Namespace
		ipc := slices.Contains(ipcSysctls, ns) || strings.HasPrefix(ns, "fs.mqueue.")
		switch {
		case !ipc && !strings.HasPrefix(ns, "net."):
			return ecserr.Field(p+".namespace", "must be a namespaced kernel parameter (net.*, fs.mqueue.*, kernel.shm*, kernel.msg*, kernel.sem), got %q", clip(ns))
		case ipc && t.td.IpcMode == "host":
			return ecserr.Field(p+".namespace", "%s is in the IPC namespace, which ipcMode host shares with the host", ns)
		case !ipc && t.td.NetworkMode == "host":
			return ecserr.Field(p+".namespace", "%s is in the network namespace, which host network mode shares with the host", ns)
		case sc.Value == "":
			return ecserr.Field(p+".value", "required")
		}
	}
	return nil
}

func checkSecurityOptions(i int, c *berthv1.ContainerDefinition) error {
	for k, opt := range c.DockerSecurityOptions {
		ok := opt == "no-new-privileges" || slices.ContainsFunc(securityOptionPrefixes, func(pre string) bool {
			return strings.HasPrefix(opt, pre) && len(opt) > len(pre)
		})
		if !ok {
			return ecserr.Field(cpath(i, fmt.Sprintf("dockerSecurityOptions[%d]", k)),
				"must be no-new-privileges, apparmor:PROFILE, label:VALUE or seccomp:PROFILE, got %q", clip(opt))
		}
	}
	return nil
}

// checkResourceRequirements allows GPUs, a whole number of them; Elastic
// Inference accelerators berth does not have.
func checkResourceRequirements(i int, c *berthv1.ContainerDefinition) error {
	for k, rr := range c.ResourceRequirements {
		p := cpath(i, fmt.Sprintf("resourceRequirements[%d]", k))
		if rr.Type != "GPU" {
			return ecserr.Field(p+".type", "must be GPU (berth has no Elastic Inference), got %q", clip(rr.Type))
		}
		if n, err := strconv.Atoi(rr.Value); err != nil || n < 1 {
			return ecserr.Field(p+".value", "must be a whole number of GPUs, at least 1, got %q", clip(rr.Value))
		}
	}
	return nil
}

// checkFargateDocker refuses what Fargate does not offer: a container there
// does not reach into its host.
func (t *task) checkFargateDocker(i int, c *berthv1.ContainerDefinition) error {
	if !t.fargate {
		return nil
	}
	lp := c.LinuxParameters
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"privileged", c.GetPrivileged()},
		{"dockerSecurityOptions", len(c.DockerSecurityOptions) > 0},
		{"resourceRequirements", len(c.ResourceRequirements) > 0},
		{"linuxParameters.devices", len(lp.GetDevices()) > 0},
		{"linuxParameters.sharedMemorySize", lp.GetSharedMemorySize() > 0},
		{"linuxParameters.tmpfs", len(lp.GetTmpfs()) > 0},
		{"linuxParameters.maxSwap", lp != nil && lp.MaxSwap != nil},
		{"linuxParameters.swappiness", lp != nil && lp.Swappiness != nil},
	} {
		if f.set {
			return ecserr.Field(cpath(i, f.name), "not supported with FARGATE")
		}
	}
	for k, cp := range lp.GetCapabilities().GetAdd() {
		if cp != "SYS_PTRACE" {
			return ecserr.Field(cpath(i, fmt.Sprintf("linuxParameters.capabilities.add[%d]", k)),
				"only SYS_PTRACE may be added with FARGATE, got %q", clip(cp))
		}
	}
	return nil
}
