package runtime

import "time"

// EventType names a container lifecycle event.
type EventType string

// Event types. A container that exits gives EventDie (after EventOOM if it was
// OOM-killed); a container with a health check gives EventHealth on each change.
const (
	EventStart   EventType = "start"
	EventDie     EventType = "die"
	EventOOM     EventType = "oom"
	EventHealth  EventType = "health"
	EventDestroy EventType = "destroy"
)

// Event is a change in one container. The engine reacts by inspecting the container;
// the event itself carries only what identifies it and the headline.
type Event struct {
	ContainerID string
	Type        EventType
	// ExitCode is set for EventDie.
	ExitCode int
	// Health is set for EventHealth.
	Health HealthStatus
	// Labels are the container's labels that begin with "berth.".
	Labels map[string]string
	Time   time.Time
}
