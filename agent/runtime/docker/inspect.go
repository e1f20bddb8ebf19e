package docker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/berth/berth/agent/runtime"
)

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.ContainerState, error) {
	resp, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.ContainerState{}, wrapErr("inspect", id, err)
	}
	st := runtime.ContainerState{
		ID:     resp.ID,
		Name:   strings.TrimPrefix(resp.Name, "/"),
		Health: runtime.HealthNone,
	}
	if resp.Config != nil {
		st.Image, st.Labels = resp.Config.Image, resp.Config.Labels
	}
	st.ImageDigest = r.imageDigest(ctx, resp.Image, st.Image)
	if s := resp.State; s != nil {
		st.Status = status(s.Status)
		st.ExitCode, st.OOMKilled, st.Error = s.ExitCode, s.OOMKilled, s.Error
		st.StartedAt, st.FinishedAt = parseTime(s.StartedAt), parseTime(s.FinishedAt)
		if st.Status == runtime.StatusRunning {
			st.Pid = s.Pid
		}
		if s.Health != nil {
			st.Health = health(s.Health.Status)
		}
		if st.Status == runtime.StatusExited && st.ExitCode == 137 && !st.OOMKilled {
			st.OOMKilled = r.oomEvent(ctx, resp.ID, st.StartedAt, st.FinishedAt)
		}
	}
	if resp.NetworkSettings != nil && st.Status == runtime.StatusRunning {
		st.NetworkBindings = bindings(resp.NetworkSettings.Ports)
		st.IPv4Addresses = addresses(resp.NetworkSettings.Networks)
	}
	return st, nil
}

// oomGrace is how long after a container's exit its OOM event may still come.
const oomGrace = 500 * time.Millisecond

// oomEvent reports whether the daemon logged an "oom" event for a container killed
// between started and finished. Docker 20.10 sets State.OOMKilled only when the OOM
// notification is handled before the exit, and on a loaded host it can come after;
// the event is logged either way. Asked within oomGrace of the exit, the call waits
// out the grace. The daemon keeps its last 256 events, so a container inspected long
// after a busy spell may no longer show its OOM.
func (r *Runtime) oomEvent(ctx context.Context, id string, started, finished time.Time) bool {
	if finished.IsZero() {
		return false
	}
	if started.IsZero() || started.After(finished) {
		started = finished
	}
	filter := filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("container", id),
		filters.Arg("event", string(events.ActionOOM)),
	)
	ctx, cancel := context.WithTimeout(ctx, oomGrace+5*time.Second)
	defer cancel()
	msgs, errs := r.cli.Events(ctx, events.ListOptions{
		Since:   unixNano(started.Add(-time.Second)),
		Until:   unixNano(finished.Add(oomGrace)),
		Filters: filter,
	})
	select {
	case <-msgs:
		return true
	case <-errs: // io.EOF once the window is read
		return false
	}
}

// unixNano formats t as the daemon's since and until parameters take it.
func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerSummary, error) {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		return nil, fmt.Errorf("docker list containers: %w", err)
	}
	out := make([]runtime.ContainerSummary, 0, len(list))
	for _, c := range list {
		out = append(out, runtime.ContainerSummary{
			ID:     c.ID,
			Name:   firstName(c.Names),
			Image:  c.Image,
			Status: status(c.State),
			Labels: c.Labels,
		})
	}
	return out, nil
}

// labelFilter asks the daemon for containers with every label; "" matches any value.
func labelFilter(labels map[string]string) filters.Args {
	args := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			args.Add("label", k)
		} else {
			args.Add("label", k+"="+v)
		}
	}
	return args
}

// status folds Docker's seven states into the runtime's three: a paused or restarting
// container still holds its process; a dead or removing one is gone.
func status(s container.ContainerState) runtime.Status {
	switch s {
	case container.StateCreated:
		return runtime.StatusCreated
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtime.StatusRunning
	}
	return runtime.StatusExited
}

func health(s container.HealthStatus) runtime.HealthStatus {
	switch s {
	case container.Starting:
		return runtime.HealthStarting
	case container.Healthy:
		return runtime.HealthHealthy
	case container.Unhealthy:
		return runtime.HealthUnhealthy
	}
	return runtime.HealthNone
}

// bindings lists the host ports Docker bound, in a stable order.
func bindings(ports nat.PortMap) []runtime.NetworkBinding {
	var out []runtime.NetworkBinding
	for port, binds := range ports {
		for _, b := range binds {
			host, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			out = append(out, runtime.NetworkBinding{
				BindIP: b.HostIP, ContainerPort: port.Int(), HostPort: host, Protocol: port.Proto(),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.BindIP < b.BindIP
	})
	return out
}

// parseTime reads Docker's RFC 3339 times; Docker's zero time ("0001-01-01T...") and
// garbage both give the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

func firstName(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return strings.TrimPrefix(names[0], "/")
}

// imageDigest is the digest ECS reports for a container of image id, named ref in
// its definition: the registry's manifest digest of ref's repository when the image
// came from a registry, else the image's own id (berth's test images, and any image
// built or loaded on the host, have no registry digest); the id alone when the image
// cannot be inspected.
func (r *Runtime) imageDigest(ctx context.Context, id, ref string) string {
	img, err := r.cli.ImageInspect(ctx, id)
	if err != nil {
		return id
	}
	if d := repoDigest(img.RepoDigests, ref); d != "" {
		return d
	}
	return img.ID
}

// repoDigest picks the digest of ref's repository from an image's "repo@digest"
// list, or the only one there is.
func repoDigest(repoDigests []string, ref string) string {
	repo := ref
	if at := strings.Index(repo, "@"); at >= 0 {
		repo = repo[:at]
	} else if colon := strings.LastIndex(repo, ":"); colon > strings.LastIndex(repo, "/") {
		repo = repo[:colon]
	}
	for _, rd := range repoDigests {
		if name, digest, ok := strings.Cut(rd, "@"); ok && (name == repo || strings.HasSuffix(name, "/"+repo)) {
			return digest
		}
	}
	if len(repoDigests) == 1 {
		_, digest, _ := strings.Cut(repoDigests[0], "@")
		return digest
	}
	return ""
}

// addresses are a container's IPv4 addresses on its networks, in network name
// order.
func addresses(nets map[string]*network.EndpointSettings) []string {
	names := make([]string, 0, len(nets))
	for name := range nets {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		if ep := nets[name]; ep != nil && ep.IPAddress != "" {
			out = append(out, ep.IPAddress)
		}
	}
	return out
}
