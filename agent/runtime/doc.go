// Package runtime is the agent's view of a container runtime: the lifecycle of one
// container (pull its image, create, start, stop, remove, inspect), the events that tell
// the task engine a container exited or changed health, and the listing by label that
// lets a restarted agent re-adopt the containers it owns.
//
// The Runtime interface is defined here, by the agent that uses it, and implemented by
// two packages: runtime/docker over the Docker Engine, and runtime/hollow, simulated
// containers for scale tests, demos without Docker, and the task engine's unit tests.
// runtime/runtimetest holds the expectations both must meet. Running a command in a
// running container (ECS Exec) is an optional capability, Execer, found by type
// assertion.
//
// This package must not know ECS task semantics: no dependsOn, no essential containers,
// no task status. It moves one container at a time; the task engine composes them. It
// uses ECS's words for what a container definition says (portMappings, healthCheck,
// memoryReservation, networkBindings) so that the engine translates nothing.
package runtime
