package engine

// Task and container lastStatus values the engine reports, in ECS's words.
const (
	StatusPending    = "PENDING"
	StatusActivating = "ACTIVATING"
	StatusRunning    = "RUNNING"
	StatusStopping   = "STOPPING"
	StatusStopped    = "STOPPED"
)

// Stop codes the engine sets; the others (UserInitiated, ServiceSchedulerInitiated, ...)
// come from the control plane with a desiredStatus of STOPPED.
const (
	StopCodeTaskFailedToStart        = "TaskFailedToStart"
	StopCodeEssentialContainerExited = "EssentialContainerExited"
)

// EssentialExitReason is ECS's stoppedReason for a task whose essential container exited.
const EssentialExitReason = "Essential container in task exited"

// Health statuses of tasks and containers, as ECS reports them.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)
