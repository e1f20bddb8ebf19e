// Package e2e proves berth end to end, with nothing simulated: a real control plane
// (controlplane.Start on loopback, its own data dir) and real agents (agent.Run in the
// test process, or the cmd/agent binary where a process must die) running containers
// in the local Docker daemon, offline, driven over the gRPC ECS API as a user would.
//
// The tests prove that a two-container task with dependsOn HEALTHY and a dynamic host
// port runs, answers on the port it reports and stops in reverse dependency order;
// that ECS's own test task definitions (shared/testdata/ecs-taskdefs, registered as
// they are) end as ECS ends them; that an agent killed with SIGKILL and restarted on
// its data dir is the same container instance with the same containers; that the
// tasks of an agent gone past its TTL are stopped, and their containers removed when
// it returns; that a container's output reads back through GetTaskLogs, whole, its
// last line, and followed until the caller hangs up; and, on three agents in three zones, that a service scales with as many
// containers running as it counts, replaces a task whose container is killed, rolls a
// new revision out within minimumHealthyPercent and maximumPercent, and rolls back when
// the deployment circuit breaker trips.
//
// The package holds tests only. They skip without a Docker daemon unless
// BERTH_REQUIRE_DOCKER=1, build their images locally (internal/testimage) and remove
// every container, image and tag they make, pass or fail: containers by the
// container instance ARN label the engine gives them.
package e2e
