package hollow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// Create implements runtime.Runtime.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	r.counters.creates.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.faults.take(OpCreate); err != nil {
		return "", err
	}
	if err := r.checkCreate(spec); err != nil {
		return "", fmt.Errorf("hollow create container %q: %w", spec.Name, err)
	}
	id := newID()
	if spec.Name == "" {
		spec.Name = "hollow-" + id[:12]
	}
	r.names[spec.Name] = id
	r.containers[id] = &container{
		spec:     spec,
		behavior: parseBehavior(argv(spec)),
		exited:   make(chan struct{}),
		output:   newOutput(),
		state: runtime.ContainerState{
			ID: id, Name: spec.Name, Image: spec.Image, ImageDigest: imageDigest(spec.Image), Status: runtime.StatusCreated,
			Health: runtime.HealthNone, Labels: spec.Labels(),
		},
	}
	return id, nil
}

// checkCreate refuses what Docker refuses at create: a missing image, a name in use,
// a link to a container that does not exist.
func (r *Runtime) checkCreate(spec runtime.ContainerSpec) error {
	if !r.images[spec.Image] {
		return fmt.Errorf("no such image: %s", spec.Image)
	}
	if _, taken := r.names[spec.Name]; taken && spec.Name != "" {
		return fmt.Errorf("name %q is already in use", spec.Name)
	}
	for _, link := range spec.Links {
		name, _, _ := strings.Cut(link, ":")
		if _, ok := r.names[name]; !ok {
			return fmt.Errorf("link %q: no such container %q", link, name)
		}
	}
	for _, mode := range []string{spec.PidMode, spec.IpcMode} {
		if id, ok := strings.CutPrefix(mode, "container:"); ok && r.containers[id] == nil {
			return fmt.Errorf("cannot join the namespace of container %q: no such container", id)
		}
	}
	return nil
}

// imageDigest is a hollow image's digest: made up from its name, stable, and shaped
// as a registry's.
func imageDigest(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Start implements runtime.Runtime, after Config.StartLatency.
func (r *Runtime) Start(ctx context.Context, id string) error {
	r.counters.starts.Add(1)
	if err := sleep(ctx, r.cfg.StartLatency); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.faults.take(OpStart); err != nil {
		return err
	}
	c, err := r.lookup(id)
	if err != nil {
		return err
	}
	if c.state.Status != runtime.StatusCreated {
		return nil // Docker: starting a running container is a no-op
	}
	if err := r.checkNetwork(c.spec); err != nil {
		return fmt.Errorf("hollow start container %q: %w", id, err)
	}
	bindings, err := r.bindPorts(c.spec)
	if err != nil {
		return fmt.Errorf("hollow start container %q: %w", id, err)
	}
	c.state.Status, c.state.StartedAt, c.state.NetworkBindings = runtime.StatusRunning, time.Now(), bindings
	r.publish(c, runtime.Event{Type: runtime.EventStart})
	r.run(c)
	return nil
}

// checkNetwork refuses to join the network namespace of a container that is not
// running, as Docker does.
func (r *Runtime) checkNetwork(spec runtime.ContainerSpec) error {
	target, ok := strings.CutPrefix(spec.NetworkMode, "container:")
	if !ok {
		return nil
	}
	if id, byName := r.names[target]; byName {
		target = id
	}
	if c, ok := r.containers[target]; !ok || !c.running() {
		return fmt.Errorf("cannot join network of a non running container: %s", target)
	}
	return nil
}

// bindPorts binds spec's host ports, all or none.
func (r *Runtime) bindPorts(spec runtime.ContainerSpec) ([]runtime.NetworkBinding, error) {
	mode := spec.NetworkMode
	if mode == runtime.NetworkNone || strings.HasPrefix(mode, "container:") {
		return nil, nil
	}
	var out []runtime.NetworkBinding
	for _, m := range spec.PortMappings {
		proto, want := m.Protocol, m.HostPort
		if proto == "" {
			proto = "tcp"
		}
		if mode == runtime.NetworkHost {
			want = m.ContainerPort
		}
		port, err := r.ports.bind(proto, want)
		if err != nil {
			for _, b := range out {
				r.ports.release(b.Protocol, b.HostPort)
			}
			return nil, err
		}
		ip := m.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out = append(out, runtime.NetworkBinding{
			BindIP: ip, ContainerPort: m.ContainerPort, HostPort: port, Protocol: proto,
		})
	}
	return out, nil
}
