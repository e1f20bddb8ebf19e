package engine

import (
	"fmt"
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
)

// An action is one runtime call the task machine asks for. Its outcome comes back to
// the machine as an input (pulled, created, started, stopped or removed).
type action struct {
	kind actionKind
	// container is the container definition's name, or pauseName.
	container string
	image     string                // pull
	spec      runtime.ContainerSpec // create
	id        string                // start, stop, remove
	timeout   time.Duration         // stop: SIGTERM, then SIGKILL after this
}

// String is the action as scenario tests read it: "pull web", "stop web 30s".
func (a action) String() string {
	if a.kind == actStop {
		return fmt.Sprintf("%s %s %s", a.kind, a.container, a.timeout)
	}
	return fmt.Sprintf("%s %s", a.kind, a.container)
}
