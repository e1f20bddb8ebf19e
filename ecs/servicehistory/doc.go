// Package servicehistory keeps a service's history as ECS shows it with
// ListServiceDeployments, DescribeServiceDeployments and
// DescribeServiceRevisions: a service revision for each deployment that
// changes what runs (CreateService, and an UpdateService with a new task
// definition, load balancers, service registries, Service Connect, network
// configuration or forceNewDeployment), and a service deployment for each
// rollout, whose status follows the service's deployments (ecs-svc/...):
//
//   - IN_PROGRESS while its deployment is PRIMARY and rolling out;
//     SUCCESSFUL when it COMPLETED;
//   - STOPPED when the circuit breaker failed it without rollback, or when a
//     newer deployment replaced it before it finished;
//   - ROLLBACK_IN_PROGRESS when the circuit breaker failed it and rolls back
//     to the last COMPLETED revision (the rollback's deployment joins it),
//     then ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
//
// The history lives in the service's store record (ServiceRecord's
// service_deployments and service_revisions), so that it changes in the
// same transaction as the deployments it follows. Update is a pure
// function of the record, the time and an id source; the API and the
// service controller call it after each change they make.
package servicehistory
