package engine

import (
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// NetworkAWSVPC is the task network mode that gives a task its own network namespace,
// held by a pause container.
const NetworkAWSVPC = "awsvpc"

// newContainer is a task container as its definition, the task's overrides and the
// agent's options make it.
func newContainer(a *berthv1.TaskAssignment, def *berthv1.ContainerDefinition, opts Options) *container {
	spec := containerSpec(a, def, opts)
	c := &container{
		name:         def.GetName(),
		essential:    def.Essential == nil || def.GetEssential(),
		deps:         dependencies(def, spec.NetworkMode),
		spec:         spec,
		health:       runtime.HealthNone,
		startTimeout: time.Duration(def.GetStartTimeout()) * time.Second,
	}
	if spec.NetworkMode == NetworkAWSVPC {
		c.published = awsvpcPorts(def)
	}
	if spec.NetworkMode == runtime.NetworkHost {
		for _, pm := range spec.PortMappings {
			c.hostBindings = append(c.hostBindings, runtime.NetworkBinding{
				BindIP: "0.0.0.0", ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, Protocol: pm.Protocol})
		}
	}
	return c
}

// dependencies are a container's dependsOn entries, in bridge mode its links, which
// Docker needs running before the container starts, and its volumesFrom sources,
// which must be created first.
func dependencies(def *berthv1.ContainerDefinition, mode string) []dependency {
	var deps []dependency
	for _, d := range def.GetDependsOn() {
		deps = append(deps, dependency{container: d.GetContainerName(), condition: d.GetCondition()})
	}
	if mode == runtime.NetworkBridge {
		for _, l := range def.GetLinks() {
			name, _, _ := strings.Cut(l, ":")
			deps = append(deps, dependency{container: name, condition: condStart})
		}
	}
	for _, vf := range def.GetVolumesFrom() {
		deps = append(deps, dependency{container: vf.GetSourceContainer(), condition: condCreated})
	}
	return deps
}

// newPause is a task's pause container, which holds the task's network namespace
// (awsvpc: on the bridge; otherwise it needs no network) and, with ipcMode task, an
// IPC namespace the others may join. Its init process ends it promptly on SIGTERM.
// In awsvpc mode it publishes every container port of the task on the host's
// loopback, each on a dynamic host port: loopback is the only address that carries
// traffic to berth's hosts, and an awsvpc task's ports are what ECS reaches at the
// task's own address (an ip target). The tasks' containers report these bindings.
func newPause(a *berthv1.TaskAssignment, opts Options, awsvpc, shareIPC bool) *container {
	c := &container{
		name:      pauseName,
		essential: true,
		health:    runtime.HealthNone,
		spec: runtime.ContainerSpec{
			Name:               runtimeName(a.GetTaskDefinition(), a.GetTask().GetTaskArn(), pauseName),
			Image:              opts.PauseImage,
			Owner:              owner(a, pauseName, opts),
			Command:            opts.PauseCommand,
			NetworkMode:        runtime.NetworkBridge,
			StopTimeout:        opts.StopTimeout,
			InitProcessEnabled: true,
		},
	}
	if !awsvpc {
		c.spec.NetworkMode = runtime.NetworkNone
	} else {
		seen := map[runtime.PortMapping]bool{}
		for _, def := range a.GetTaskDefinition().GetContainerDefinitions() {
			if def.GetDisableNetworking() {
				continue // in no namespace of the task's: nothing to reach
			}
			for _, pm := range awsvpcPorts(def) {
				if !seen[pm] {
					seen[pm] = true
					c.spec.PortMappings = append(c.spec.PortMappings, pm)
				}
			}
		}
	}
	if shareIPC {
		c.spec.IpcMode = runtime.NamespaceShareable
	}
	return c
}

// awsvpcPorts are the ports an awsvpc container's definition maps, as its task's
// pause container publishes them: on loopback, each on a dynamic host port (the
// definition's hostPort, which is its containerPort in awsvpc mode, would collide
// between the instance's tasks).
func awsvpcPorts(def *berthv1.ContainerDefinition) []runtime.PortMapping {
	var out []runtime.PortMapping
	for _, pm := range def.GetPortMappings() {
		if pm.GetContainerPort() == 0 {
			continue // a containerPortRange's, which berth does not publish
		}
		proto := pm.GetProtocol()
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, runtime.PortMapping{ContainerPort: int(pm.GetContainerPort()), Protocol: proto, HostIP: loopback})
	}
	return out
}

// loopback is where an awsvpc task's ports are published.
const loopback = "127.0.0.1"

// networkMode is the task's network mode; "" is bridge, ECS's default on Linux.
func networkMode(a *berthv1.TaskAssignment) string {
	if m := a.GetTaskDefinition().GetNetworkMode(); m != "" {
		return m
	}
	return runtime.NetworkBridge
}
