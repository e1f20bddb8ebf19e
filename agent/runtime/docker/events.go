package docker

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/berth/berth/agent/runtime"
)

// eventTypes maps the Docker container actions the runtime reports to its event types.
// Health checks also make exec_* events on every probe; they are filtered out at the
// daemon.
var eventTypes = map[events.Action]runtime.EventType{
	events.ActionStart:        runtime.EventStart,
	events.ActionDie:          runtime.EventDie,
	events.ActionOOM:          runtime.EventOOM,
	events.ActionHealthStatus: runtime.EventHealth,
	events.ActionDestroy:      runtime.EventDestroy,
}

// Events implements runtime.Runtime over Docker's event stream, filtered at the daemon
// by type, action and labels. The stream asks for events since the call, so that those
// of a container created right after it are not lost while the request is on its way.
func (r *Runtime) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	filter := labelFilter(labels)
	filter.Add("type", string(events.ContainerEventType))
	for action := range eventTypes {
		filter.Add("event", string(action))
	}
	msgs, errs := r.cli.Events(ctx, events.ListOptions{Since: unixNano(time.Now()), Filters: filter})
	out, outErr := make(chan runtime.Event), make(chan error, 1)
	go func() {
		defer close(out)
		defer close(outErr)
		for {
			select {
			case msg := <-msgs:
				if ev, ok := event(msg); ok && !send(ctx, out, ev) {
					outErr <- ctx.Err()
					return
				}
			case err := <-errs:
				outErr <- err
				return
			}
		}
	}()
	return out, outErr
}

// send delivers ev unless ctx ends first.
func send(ctx context.Context, out chan<- runtime.Event, ev runtime.Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// event translates a Docker event; ok is false for one the runtime does not report.
func event(msg events.Message) (ev runtime.Event, ok bool) {
	action := msg.Action
	var health string
	if base, status, found := strings.Cut(string(action), ": "); found {
		action, health = events.Action(base), status // "health_status: healthy"
	}
	typ, ok := eventTypes[action]
	if !ok {
		return runtime.Event{}, false
	}
	ev = runtime.Event{
		ContainerID: msg.Actor.ID,
		Type:        typ,
		Labels:      berthLabels(msg.Actor.Attributes),
		Time:        time.Unix(0, msg.TimeNano),
	}
	if typ == runtime.EventHealth {
		ev.Health = runtime.HealthStatus(health)
	}
	if typ == runtime.EventDie {
		ev.ExitCode, _ = strconv.Atoi(msg.Actor.Attributes["exitCode"])
	}
	return ev, true
}

// berthLabels picks the berth labels out of an event's attributes, which mix the
// container's labels with Docker's own keys (name, image, exitCode).
func berthLabels(attrs map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range attrs {
		if strings.HasPrefix(k, "berth.") {
			out[k] = v
		}
	}
	return out
}
