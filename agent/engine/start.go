package engine

import (
	"time"

	"github.com/berth/berth/agent/runtime"
)

// startActions moves a task toward RUNNING: first every image is pulled, once per
// image however many containers run it, then each container is created and started
// as soon as its dependencies allow.
func (t *task) startActions(now time.Time) []action {
	var acts []action
	if t.any(phasePending) {
		if t.pullStartedAt.IsZero() {
			t.pullStartedAt = now
		}
		pulling := map[string]bool{}
		for _, c := range t.all() {
			if c.phase != phasePending {
				continue
			}
			c.phase = phasePulling
			if !pulling[c.spec.Image] {
				pulling[c.spec.Image] = true
				acts = append(acts, action{kind: actPull, container: c.name, image: c.spec.Image, from: t.source(c.spec.Image)})
			}
		}
		return acts
	}
	if t.any(phasePulling) {
		return nil
	}
	for _, c := range t.all() {
		if !t.ready(c) {
			continue
		}
		switch c.phase {
		case phasePulled:
			c.phase = phaseCreating
			acts = append(acts, action{kind: actCreate, container: c.name, spec: t.createSpec(c), dirs: t.volumeDirs(c)})
		case phaseCreated:
			c.phase = phaseStarting
			acts = append(acts, action{kind: actStart, container: c.name, id: c.id})
		}
	}
	return acts
}

// ready reports whether c may be created and started: the pause container runs, if
// there is one, and every dependsOn condition holds.
func (t *task) ready(c *container) bool {
	if t.pause != nil && c != t.pause && t.pause.phase != phaseRunning {
		return false
	}
	for _, d := range c.deps {
		if dc := t.container(d.container); dc != nil && !d.met(dc) {
			return false
		}
	}
	return true
}

// createSpec is c's spec as created now, when its task's pause container has an id:
// an awsvpc container joins the pause container's network namespace (unless its
// networking is disabled), and with pidMode or ipcMode task its PID or IPC namespace.
func (t *task) createSpec(c *container) runtime.ContainerSpec {
	s := c.spec
	if t.pause == nil || c == t.pause {
		return s
	}
	if t.awsvpc && !s.NetworkDisabled {
		s.NetworkMode = runtime.JoinNetwork(t.pause.id)
	}
	if t.sharePID {
		s.PidMode = runtime.JoinNamespace(t.pause.id)
	}
	if t.shareIPC {
		s.IpcMode = runtime.JoinNamespace(t.pause.id)
	}
	return s
}

// source is where the assignment says to pull image from, or nil to pull it
// under its own name.
func (t *task) source(image string) *runtime.Source {
	for _, p := range t.assignment.GetImagePulls() {
		if p.GetImage() == image {
			return &runtime.Source{Ref: p.GetRef(), User: p.GetUser(), Password: p.GetPassword()}
		}
	}
	return nil
}
