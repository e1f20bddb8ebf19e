package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// actionKind names the runtime call an action asks for.
type actionKind string

const (
	actPull   actionKind = "pull"
	actCreate actionKind = "create"
	actStart  actionKind = "start"
	actStop   actionKind = "stop"
	actRemove actionKind = "remove"
	// actRemoveVolumes removes a task's volumes directory, which is not a runtime
	// call: the engine owns that directory.
	actRemoveVolumes actionKind = "remove-volumes"
	// actWake asks to be woken after timeout (a dependency's startTimeout runs out),
	// which is not a runtime call either.
	actWake actionKind = "wake"
)

// An action is one runtime call the task machine asks for, or the making or removal of
// the task's volume directories around them. Its outcome comes back to the machine as
// an input (pulled, created, started, stopped, removed or volumesRemoved).
type action struct {
	kind actionKind
	// container is the container definition's name, or pauseName.
	container string
	image     string                // pull
	from      *runtime.Source       // pull: from berth's registry, or nil
	spec      runtime.ContainerSpec // create
	dirs      []string              // create: volume directories to make first; remove-volumes
	id        string                // start, stop, remove
	timeout   time.Duration         // stop: SIGTERM, then SIGKILL after this; wake: after this
}

// String is the action as scenario tests read it: "pull web", "stop web 30s".
func (a action) String() string {
	switch a.kind {
	case actStop, actWake:
		return fmt.Sprintf("%s %s %s", a.kind, a.container, a.timeout)
	case actRemoveVolumes:
		return fmt.Sprintf("%s %s", a.kind, strings.Join(a.dirs, " "))
	}
	return fmt.Sprintf("%s %s", a.kind, a.container)
}
