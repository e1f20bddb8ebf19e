package engine

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// stateChange is the task's state as ECS reports it. The engine sends it whenever it
// differs from the last one sent.
func (t *task) stateChange() *berthv1.TaskStateChange {
	sc := &berthv1.TaskStateChange{
		TaskArn:            t.arn,
		LastStatus:         t.status,
		StopCode:           t.stopCode,
		StoppedReason:      t.stoppedReason,
		PullStartedAt:      epoch(t.pullStartedAt),
		PullStoppedAt:      epoch(t.pullStoppedAt),
		StartedAt:          epoch(t.startedAt),
		StoppingAt:         epoch(t.stoppingAt),
		ExecutionStoppedAt: epoch(t.executionStoppedAt),
		HealthStatus:       t.healthStatus(),
	}
	for _, c := range t.containers {
		csc := c.stateChange()
		if len(c.published) > 0 && t.pause != nil && csc.LastStatus == StatusRunning {
			csc.NetworkBindings = append(csc.NetworkBindings, t.publishedFor(c)...)
		}
		sc.Containers = append(sc.Containers, csc)
	}
	return sc
}

// publishedFor are the pause container's bindings of an awsvpc container's ports:
// where the container is reached on the host's loopback.
func (t *task) publishedFor(c *container) []*berthv1.NetworkBinding {
	var out []*berthv1.NetworkBinding
	for _, pm := range c.published {
		for _, b := range t.pause.bindings {
			if b.ContainerPort == pm.ContainerPort && b.Protocol == pm.Protocol {
				out = append(out, networkBinding(b))
			}
		}
	}
	return out
}

func networkBinding(b runtime.NetworkBinding) *berthv1.NetworkBinding {
	return &berthv1.NetworkBinding{BindIp: b.BindIP, ContainerPort: int32(b.ContainerPort), HostPort: int32(b.HostPort), Protocol: b.Protocol}
}

func (c *container) stateChange() *berthv1.ContainerStateChange {
	sc := &berthv1.ContainerStateChange{
		Name:         c.name,
		RuntimeId:    c.id,
		LastStatus:   c.lastStatus(),
		ExitCode:     c.exitCode,
		Reason:       c.reason,
		HealthStatus: c.healthStatus(),
		ImageDigest:  c.imageDigest,
	}
	for _, b := range c.bindings {
		sc.NetworkBindings = append(sc.NetworkBindings, networkBinding(b))
	}
	return sc
}

// healthStatus is the container's health as ECS reports it.
func (c *container) healthStatus() string {
	switch c.health {
	case runtime.HealthHealthy:
		return HealthHealthy
	case runtime.HealthUnhealthy:
		return HealthUnhealthy
	}
	return HealthUnknown
}

// healthStatus is the task's health: UNHEALTHY if any essential container with a
// health check is, HEALTHY if all of them are (and there is one), else UNKNOWN.
func (t *task) healthStatus() string {
	checked, healthy := 0, 0
	for _, c := range t.containers {
		if !c.essential || c.spec.HealthCheck == nil {
			continue
		}
		checked++
		switch c.healthStatus() {
		case HealthUnhealthy:
			return HealthUnhealthy
		case HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return HealthHealthy
	}
	return HealthUnknown
}

// epoch is t in seconds since the epoch, as ECS's timestamps; 0 for the zero time.
func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
