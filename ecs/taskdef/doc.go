// Package taskdef checks and normalizes RegisterTaskDefinition requests with
// the rules Amazon ECS applies at registration: names, container counts,
// memory and CPU (task sizes in "1 vCPU" / "2 GB" forms, the Fargate table),
// network modes and port mappings, links, dependsOn, health checks, volumes,
// placement constraints, and the Docker settings of each container
// (docker.go): berth's agent honours every setting registration accepts, so
// what it cannot honour (secrets, EFS, Docker named volumes, ...) is refused
// here with its field path rather than dropped when the task runs.
//
// Validate is the whole API. It returns the task definition to store, or the
// first rule broken as an *ecserr.Error whose message starts with the field
// path ("containerDefinitions[1].portMappings[0].hostPort: ..."). Rules are
// checked in a fixed order (task-level fields, volumes, then containers in
// order, then placement constraints), so the same request always gets the
// same error.
//
// Normalization makes stored task definitions explicit for their consumers
// (the scheduler, the agent, DescribeTaskDefinition), and is idempotent:
// registering what Validate returned gives it back unchanged.
//   - cpu and memory become decimal CPU units and MiB ("1 vCPU" -> "1024",
//     "2 GB" -> "2048").
//   - networkMode "" becomes "bridge" (ECS leaves it unset and means bridge).
//   - essential absent becomes true; portMappings protocol "" becomes "tcp";
//     in host and awsvpc mode an absent hostPort becomes the containerPort.
//   - healthCheck intervals absent become ECS's defaults (30, 5, 3, 0).
//   - compatibilities is set: EC2 always, plus FARGATE and EXTERNAL when
//     requiresCompatibilities lists them (FARGATE only after the Fargate rules
//     passed).
//
// Where ECS is vague berth decides, and says so next to the rule: see
// resources.go (sizes), network.go (ports), healthcheck.go and container.go
// (timeouts).
//
// The package is pure logic: no I/O, no clock. Revision, ARN, status and
// registeredAt are the store's to assign; tags are not part of a task
// definition and are left to the caller.
package taskdef
