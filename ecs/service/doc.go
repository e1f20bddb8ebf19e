// Package service is ECS's service scheduler as a pure function: given a
// service (its desired count, deployment configuration and deployments), its
// tasks and the cluster's container instances at one moment, Decide says
// which tasks to start and stop, how the deployments stand, and what to tell
// the user. It does no I/O, keeps no state between calls and reads no clock
// (Input.Now is the time), so its scenarios are exact; the service controller
// does the I/O around it and places the tasks it asks for with the scheduler.
//
// The rules, as ECS's:
//
//   - REPLICA keeps DesiredCount tasks of the PRIMARY deployment. Tasks of
//     older deployments, and tasks on DRAINING or vanished instances, are
//     doomed: replacements start first, within maximumPercent of DesiredCount
//     (rounded down) running or pending in all; doomed tasks stop as long as
//     minimumHealthyPercent (rounded up) stay healthy.
//   - A task is healthy when RUNNING and its health status is HEALTHY, or,
//     without a health check, once it has been RUNNING for HealthGrace (40 s).
//   - A PRIMARY deployment is COMPLETED when it has DesiredCount healthy tasks
//     and no other deployment has any task left; older deployments with no
//     task left are dropped.
//   - Circuit breaker: when the PRIMARY deployment's failed tasks (stopped
//     with TaskFailedToStart or EssentialContainerExited, or by the service
//     for failing their load balancer's health checks) reach
//     clamp(ceil(DesiredCount/2), 10, 200), it is FAILED; with rollback, a new
//     deployment of the last COMPLETED one's task definition becomes PRIMARY.
//   - Tasks that fail before RUNNING again and again slow starts down: the
//     delay doubles up to 15 minutes, with ECS's event.
//   - Task scale-in protection: a task protected at Now (Task.ProtectedUntil)
//     is stopped by neither a scale-in nor a deployment; the service stays
//     above its desired count, or the deployment waits, until it ends (as
//     ECS documents). A task on a draining or vanished instance is replaced
//     all the same.
//   - DAEMON runs one PRIMARY task on every ACTIVE, connected instance that
//     meets the constraints (the caller says which), and none elsewhere.
//   - A service with the EXTERNAL deployment controller has no deployments:
//     it runs its task sets, each at its computed desired count
//     (ceil(DesiredCount x scale / 100); none when DRAINING), tasks on
//     draining instances replaced as above but without maximumPercent (ECS
//     ignores it for external deployments). A task set is STEADY_STATE when
//     it runs exactly its count, all RUNNING (and HEALTHY with a health
//     check) with nothing to start or stop, else STABILIZING; a DRAINING one
//     with no task left is dropped (taskset.go, testdata/tasksets_*.txt).
package service
