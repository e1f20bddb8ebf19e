package service

import (
	"fmt"
	"time"
)

// Scheduling strategies, deployment statuses and rollout states, as ECS
// names them.
const (
	Replica = "REPLICA"
	Daemon  = "DAEMON"

	Primary = "PRIMARY"
	Active  = "ACTIVE"

	InProgress = "IN_PROGRESS"
	Completed  = "COMPLETED"
	Failed     = "FAILED"
)

// Task statuses and stop codes Decide reads.
const (
	Running = "RUNNING"
	Stopped = "STOPPED"

	StopFailedToStart       = "TaskFailedToStart"
	StopEssentialExited     = "EssentialContainerExited"
	StopSchedulerInitiated  = "ServiceSchedulerInitiated"
	healthHealthy           = "HEALTHY"
	healthUnhealthy         = "UNHEALTHY"
	instanceActive          = "ACTIVE"
	defaultHealthGrace      = 40 * time.Second
	maxStartBackoff         = 15 * time.Minute
	firstStartBackoff       = 10 * time.Second
	startFailuresBeforeSlow = 3
)

// Service is what Decide needs of a service.
type Service struct {
	Name               string
	SchedulingStrategy string // Replica or Daemon
	DesiredCount       int
	MinHealthyPercent  int
	MaxPercent         int
	CircuitBreaker     bool
	Rollback           bool
	// Deployments, the PRIMARY one first.
	Deployments []Deployment
	// Backoff is where the start-failure back-off stands.
	Backoff Backoff
	// Steady is whether the last decision found the service steady (so that
	// the steady-state event is said once per arrival).
	Steady bool
	// External is the EXTERNAL deployment controller: the service runs its
	// TaskSets instead of Deployments.
	External bool
	TaskSets []TaskSet
}

// Deployment is one of the service's deployments.
type Deployment struct {
	ID             string
	Status         string // Primary or Active
	TaskDefinition string
	RolloutState   string
	CreatedAt      time.Time
	// RollbackOf is, for a deployment the circuit breaker started, the
	// failed deployment it rolls back, and RollbackTo the COMPLETED one whose
	// task definition it runs again.
	RollbackOf, RollbackTo string
}

// Backoff is the start-failure back-off: how many tasks in a row failed
// before RUNNING, and when starting may resume.
type Backoff struct {
	Failures  int
	NextStart time.Time
	// Seen is how many failed-before-running tasks were already counted.
	Seen int
}

// Task is what Decide needs of one of the service's tasks.
type Task struct {
	ID             string
	Deployment     string
	Instance       string
	LastStatus     string
	DesiredStatus  string
	HealthStatus   string // HEALTHY, UNHEALTHY, UNKNOWN
	HasHealthCheck bool
	StartedAt      time.Time // when it reached RUNNING; zero before
	StopCode       string
	// FailedHealthChecks is whether the service stopped it for failing its
	// load balancer's health checks: a failure for the circuit breaker, as
	// a task that failed to start is.
	FailedHealthChecks bool
	// EverRan is whether it reached RUNNING before it stopped.
	EverRan bool
	// ProtectedUntil is when its scale-in protection (UpdateTaskProtection)
	// ends; zero when it has none. While it lasts neither a scale-in nor a
	// deployment stops the task.
	ProtectedUntil time.Time
}

// Instance is what Decide needs of a container instance.
type Instance struct {
	ID        string
	Status    string // ACTIVE, DRAINING, ...
	Connected bool
	// Eligible is whether the service's placement constraints admit it
	// (DAEMON services run on every eligible instance).
	Eligible bool
	// OtherTasks counts the live tasks of other services and standalone
	// tasks on it (a DAEMON task leaves a draining instance last).
	OtherTasks int
}

// Input is one moment of a service.
type Input struct {
	Service Service
	Tasks   []Task
	// Instances are the cluster's instances (DAEMON), or at least those
	// the service's live tasks are on (REPLICA).
	Instances []Instance
	Now       time.Time
	// HealthGrace is how long a task without a health check must be RUNNING
	// to count as healthy (40 s when 0).
	HealthGrace time.Duration
	// NewDeploymentID names a deployment Decide creates (a rollback).
	NewDeploymentID string
}

// Decision is what to do now.
type Decision struct {
	// Start asks for tasks of a deployment: Count of them (REPLICA), or one on
	// each of Instances (DAEMON).
	Start []Start
	// Stop lists tasks to stop, with the reason to give.
	Stop []Stop
	// ScaleIn asks the controller to choose Count tasks of a deployment to stop
	// (by the placement strategy's scale-in rule); pending ones go first, and
	// protected ones (Task.ProtectedUntil after Now) never.
	ScaleIn []ScaleIn
	// Deployments is the service's deployments after this decision.
	Deployments []Deployment
	Backoff     Backoff
	Steady      bool
	// TaskSets is the service's task sets after this decision (EXTERNAL).
	TaskSets []TaskSetState
	// Counts per deployment (or task set) ID.
	Counts map[string]Counts
	Events []string
}

// Start is a request for new tasks.
type Start struct {
	Deployment string
	Count      int
	Instances  []string // DAEMON only
}

// Stop is one task to stop.
type Stop struct {
	Task   string
	Reason string
}

// ScaleIn is a number of a deployment's tasks to stop, the controller's
// choice which.
type ScaleIn struct {
	Deployment string
	Count      int
	Reason     string
}

// Counts are a deployment's (or the service's) tasks by state.
type Counts struct {
	Running, Pending, Healthy, Failed int
}

// DeploymentID formats a deployment id as ECS does, from a random number
// the caller draws (Decide draws nothing).
func DeploymentID(n uint64) string { return fmt.Sprintf("ecs-svc/%019d", n%1e19) }
