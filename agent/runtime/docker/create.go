package docker

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berth/berth/agent/runtime"
)

const mib = 1 << 20

// Create implements runtime.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	cfg, err := containerConfig(spec)
	if err != nil {
		return "", err
	}
	hostCfg, err := hostConfig(spec)
	if err != nil {
		return "", err
	}
	resp, err := r.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, spec.Name)
	if err != nil {
		return "", fmt.Errorf("docker create container %q from %q: %w", spec.Name, spec.Image, err)
	}
	return resp.ID, nil
}

// containerConfig is the part of spec that describes the container itself.
func containerConfig(spec runtime.ContainerSpec) (*container.Config, error) {
	exposed, _, err := ports(spec.PortMappings)
	if err != nil {
		return nil, err
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Entrypoint:   spec.EntryPoint,
		Cmd:          spec.Command,
		Env:          environment(spec.Environment),
		WorkingDir:   spec.WorkingDirectory,
		User:         spec.User,
		Labels:       spec.Labels(),
		ExposedPorts: exposed,
		Healthcheck:  healthConfig(spec.HealthCheck),
		Hostname:     spec.Hostname,
		// Docker's NetworkDisabled alone leaves the container in its network mode;
		// hostConfig also puts it in mode none.
		NetworkDisabled: spec.NetworkDisabled,
		OpenStdin:       spec.Interactive,
		Tty:             spec.PseudoTerminal,
	}
	if spec.StopTimeout > 0 {
		secs := seconds(spec.StopTimeout)
		cfg.StopTimeout = &secs
	}
	return cfg, nil
}

// hostConfig is the part of spec that ties the container to the host: resources,
// networking, mounts, init.
func hostConfig(spec runtime.ContainerSpec) (*container.HostConfig, error) {
	_, bindings, err := ports(spec.PortMappings)
	if err != nil {
		return nil, err
	}
	mountBinds, err := binds(spec.Mounts)
	if err != nil {
		return nil, err
	}
	devices, err := devices(spec.Devices)
	if err != nil {
		return nil, err
	}
	hc := &container.HostConfig{
		NetworkMode:  networkMode(spec),
		PortBindings: bindings,
		Links:        spec.Links,
		Binds:        mountBinds,
		Resources: container.Resources{
			CPUShares:         cpuShares(spec.CPU),
			Memory:            spec.Memory * mib,
			MemoryReservation: spec.MemoryReservation * mib,
			Ulimits:           ulimits(spec.Ulimits),
			Devices:           devices,
			DeviceRequests:    gpus(spec.GPUs),
		},
	}
	memorySwap(spec, hc)
	if spec.InitProcessEnabled {
		hc.Init = &spec.InitProcessEnabled
	}
	applySecurity(spec, hc)
	applyNamespaces(spec, hc)
	applyDNS(spec, hc)
	hc.Tmpfs = tmpfs(spec.Tmpfs)
	hc.LogConfig = logConfig(spec.Log)
	return hc, nil
}

// networkMode is the container's Docker network mode. A container without
// networking is in mode none, so that it has no interface but loopback whatever its
// task's network mode.
func networkMode(spec runtime.ContainerSpec) container.NetworkMode {
	switch {
	case spec.NetworkDisabled:
		return runtime.NetworkNone
	case spec.NetworkMode == "":
		return runtime.NetworkBridge
	}
	return container.NetworkMode(spec.NetworkMode)
}

// memorySwap sets swap as ECS's maxSwap and swappiness say: with a hard limit and
// no maxSwap, no swap at all, so that past Memory the container is OOM-killed.
func memorySwap(spec runtime.ContainerSpec, hc *container.HostConfig) {
	switch {
	case spec.Memory > 0 && spec.MaxSwap != nil:
		hc.MemorySwap = hc.Memory + *spec.MaxSwap*mib
	case spec.Memory > 0:
		hc.MemorySwap = hc.Memory
	}
	hc.MemorySwappiness = spec.Swappiness
}

// ports turns port mappings into Docker's exposed ports and bindings; a host port of 0
// becomes "", which Docker reads as "pick one from the ephemeral range".
func ports(mappings []runtime.PortMapping) (nat.PortSet, nat.PortMap, error) {
	if len(mappings) == 0 {
		return nil, nil, nil
	}
	exposed, bindings := nat.PortSet{}, nat.PortMap{}
	for _, m := range mappings {
		proto := m.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port, err := nat.NewPort(proto, strconv.Itoa(m.ContainerPort))
		if err != nil {
			return nil, nil, fmt.Errorf("port mapping %d/%s: %w", m.ContainerPort, proto, err)
		}
		host := ""
		if m.HostPort != 0 {
			host = strconv.Itoa(m.HostPort)
		}
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], nat.PortBinding{HostIP: m.HostIP, HostPort: host})
	}
	return exposed, bindings, nil
}

// minCPUShares is the least CPU shares runc accepts: it refuses to start a container
// with fewer, and ECS's own task definitions give cpu 1. The ECS agent never sets
// fewer either.
const minCPUShares = 2

// cpuShares are the CPU shares of a container given cpu units; 0 leaves Docker's
// default.
func cpuShares(cpu int64) int64 {
	if cpu == 0 {
		return 0
	}
	return max(cpu, minCPUShares)
}

// binds renders mounts as Docker's "source:target[:ro]" binds. Binds, unlike the
// newer mount API, create a missing host path, as ECS's host volumes expect.
func binds(mounts []runtime.Mount) ([]string, error) {
	var out []string
	for _, m := range mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Target) || strings.Contains(m.Source+m.Target, ":") {
			return nil, fmt.Errorf("mount %q on %q: want absolute paths without ':'", m.Source, m.Target)
		}
		b := m.Source + ":" + m.Target
		if m.ReadOnly {
			b += ":ro"
		}
		out = append(out, b)
	}
	return out, nil
}

// environment renders env as sorted KEY=VALUE pairs, so a spec always gives the same
// config.
func environment(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func healthConfig(hc *runtime.HealthCheck) *container.HealthConfig {
	if hc == nil {
		return nil
	}
	return &container.HealthConfig{
		Test:        hc.Command,
		Interval:    hc.Interval,
		Timeout:     hc.Timeout,
		StartPeriod: hc.StartPeriod,
		Retries:     hc.Retries,
	}
}

func ulimits(in []runtime.Ulimit) []*container.Ulimit {
	out := make([]*container.Ulimit, 0, len(in))
	for _, u := range in {
		out = append(out, &container.Ulimit{Name: u.Name, Soft: u.SoftLimit, Hard: u.HardLimit})
	}
	return out
}

// seconds rounds d up to whole seconds, Docker's unit for stop timeouts.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
