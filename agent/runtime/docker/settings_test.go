package docker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/internal/dockertest"
)

// TestCreateHonoursDockerSettings proves a container definition's Docker settings
// reach the container Docker runs: it is created and started with all of them, then
// inspected with the Docker SDK.
func TestCreateHonoursDockerSettings(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "sleep")
	spec.Memory, spec.MaxSwap, spec.Swappiness = 64, new(int64(32)), new(int64(10))
	spec.Hostname = "app.berth"
	spec.DNSServers, spec.DNSSearchDomains = []string{"10.0.0.2"}, []string{"corp.example"}
	spec.ExtraHosts = []runtime.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}}
	spec.ReadonlyRootFilesystem = true
	spec.CapAdd, spec.CapDrop = []string{"NET_ADMIN"}, []string{"MKNOD"}
	spec.SecurityOptions = []string{"no-new-privileges"}
	spec.Devices = []runtime.Device{{HostPath: "/dev/null", ContainerPath: "/dev/berth-null", Permissions: []string{"read", "write"}}}
	spec.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
	spec.PidMode, spec.IpcMode = runtime.NamespaceHost, runtime.NamespaceShareable
	spec.SharedMemorySize = 32
	spec.Tmpfs = []runtime.Tmpfs{{ContainerPath: "/scratch", Size: 16, MountOptions: []string{"noexec", "mode=1777"}}}
	spec.Interactive, spec.PseudoTerminal = true, true
	spec.Log = &runtime.LogConfig{Driver: "json-file", Options: map[string]string{"max-size": "1m", "max-file": "2"}}
	id := start(t, h, spec)

	got, err := dockertest.Client(t).ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, hc := got.Config, got.HostConfig
	checks := []struct {
		what      string
		got, want any
	}{
		{"hostname", c.Hostname, "app.berth"},
		{"open stdin / tty", fmt.Sprint(c.OpenStdin, c.Tty), "true true"},
		{"memory+swap", hc.MemorySwap, int64(96 << 20)},
		{"swappiness", fmt.Sprint(deref(hc.MemorySwappiness)), "10"},
		{"dns", fmt.Sprint(hc.DNS, hc.DNSSearch), "[10.0.0.2] [corp.example]"},
		{"extra hosts", fmt.Sprint(hc.ExtraHosts), "[db:10.0.0.9]"},
		{"read-only", hc.ReadonlyRootfs, true},
		{"capabilities", fmt.Sprint(hc.CapAdd, hc.CapDrop), "[CAP_NET_ADMIN] [CAP_MKNOD]"}, // Docker's spelling
		// Docker adds label=disable beside the host's PID namespace.
		{"security options", slices.Contains(hc.SecurityOpt, "no-new-privileges"), true},
		{"devices", fmt.Sprint(hc.Devices), "[{/dev/null /dev/berth-null rw}]"},
		{"sysctls", fmt.Sprint(hc.Sysctls), "map[net.core.somaxconn:1024]"},
		{"pid / ipc", fmt.Sprint(hc.PidMode, " ", hc.IpcMode), "host shareable"},
		{"shm", hc.ShmSize, int64(32 << 20)},
		{"tmpfs", fmt.Sprint(hc.Tmpfs), "map[/scratch:size=16m,noexec,mode=1777]"},
		{"log", fmt.Sprint(hc.LogConfig.Type, " ", hc.LogConfig.Config), "json-file map[max-file:2 max-size:1m]"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if st, err := h.Runtime.Inspect(t.Context(), id); err != nil || !strings.HasPrefix(st.ImageDigest, "sha256:") {
		t.Errorf("Inspect: image digest %q, %v; want sha256:...", st.ImageDigest, err)
	}
}

// TestCreatePrivileged: a privileged container is created privileged. (It is not
// started: a daemon that itself runs without every capability cannot start one.)
func TestCreatePrivileged(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "sleep")
	spec.Privileged = true
	id, err := h.Runtime.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveContainerOnCleanup(t, dockertest.Client(t), id)
	got, err := dockertest.Client(t).ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !got.HostConfig.Privileged {
		t.Error("container is not privileged")
	}
}

// TestDisabledNetworkingHasNoNetwork: a container with networking disabled has no
// network, whatever network mode its task asks for.
func TestDisabledNetworkingHasNoNetwork(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "sleep")
	spec.NetworkDisabled = true
	id := start(t, h, spec)
	got, err := dockertest.Client(t).ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Config.NetworkDisabled || got.HostConfig.NetworkMode != runtime.NetworkNone {
		t.Errorf("NetworkDisabled %v, network mode %s; want true, none", got.Config.NetworkDisabled, got.HostConfig.NetworkMode)
	}
}

// TestTTYLogs: a container with a pseudo-terminal writes one raw stream, which Logs
// gives as stdout.
func TestTTYLogs(t *testing.T) {
	h := newHarness(t)
	spec := testSpec(t, "lines", "2")
	spec.PseudoTerminal = true
	id := start(t, h, spec)
	waitLog(t, id, "line 2")
	var stdout strings.Builder
	if err := h.Runtime.Logs(t.Context(), id, runtime.LogOptions{}, &stdout, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(stdout.String()), "2") {
		t.Errorf("logs = %q, want the two lines", stdout.String())
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
