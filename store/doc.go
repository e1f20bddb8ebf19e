// Package store keeps all of berth's state in one bbolt file.
//
// Every change is a *berthv1.Command applied by one function (apply) in one
// transaction. Commands from concurrent callers are grouped: one writer
// goroutine drains a queue and applies everything queued in a single durable
// (fsync'd) transaction, so durability does not cap throughput. A command that
// is rejected (an *apierr.Error) writes nothing and does not disturb the
// others in its group. Each applied command that changes something advances
// the revision counter by one, and its changes are delivered to watchers after
// the transaction commits.
//
// Reads go straight to bbolt read transactions; values are protobuf-encoded.
// The store knows names, not ARNs: the API layer renders ARNs.
//
// Bucket tree (schema version 5; migrations.go lists how each version came
// to be, and a test checks this drawing against the buckets a new file has):
//
//	meta
//	├── "schema"    uint32, big endian: the schema version
//	└── "revision"  uint64, big endian: revision of the last applied change
//	clusters
//	└── <name> -> berthv1.Cluster (ACTIVE, or INACTIVE once deleted)
//	families
//	└── <family> -> berthv1.TaskDefinitionFamily (its latest revision)
//	taskdefs
//	└── <family> 0x00 <revision uint32 BE> -> berthv1.TaskDefinitionRecord (ACTIVE, INACTIVE or DELETE_IN_PROGRESS)
//	instances
//	└── <cluster> 0x00 <id> -> berthv1.ContainerInstanceRecord (agents and the Fargate pool's hosts)
//	services
//	└── <cluster> 0x00 <name> -> berthv1.ServiceRecord (with its deployments and events)
//	tasks
//	└── <cluster> 0x00 <id> -> berthv1.TaskRecord (RunTask, StartTask, services, Fargate)
//	instance-ec2   (a lookup, since version 2)
//	└── <cluster> 0x00 <ec2InstanceId> -> instance id
//	instance-tasks (a lookup, since version 2)
//	└── <cluster> 0x00 <instance id> 0x00 <task id> -> 1, for tasks not STOPPED
//	capacity-providers (since version 3)
//	└── <name> -> berthv1.CapacityProvider (EC2 providers; FARGATE and FARGATE_SPOT are built in)
//	account-settings (since version 5)
//	└── <principalArn> 0x00 <name> -> berthv1.Setting (the root user's are the account's defaults)
//	ssm-parameters (made at open when missing: an empty bucket migrates nothing)
//	└── <name> -> berthv1.ParameterRecord (every version kept; values sealed by package atrest)
//	secrets        (made at open when missing)
//	└── <name> -> berthv1.SecretRecord (with its versions; values sealed by package atrest)
//	ecr-repositories (made at Open when missing: new and empty, no migration)
//	└── <repositoryName> -> berthv1.EcrRepositoryRecord (ECR's repositories; their images are in the registry's storage)
//	event-log      (made at Open when missing)
//	└── <sequence, 8 bytes big-endian> -> berthv1.EventLogRecord (berth's event log, the newest MaxEventLog events)
//	documents      (made at Open when missing)
//	└── <collection> (a bucket, made at its first write)
//	    └── <key> -> berthv1.Document (a service's own record, encoded by the service; see Collection)
//
// Keys are chosen for range scans: a family's revisions are contiguous and in
// numeric order; a cluster's instances, services and tasks are contiguous.
// Parameters and secrets are replaced whole, guarded by a generation: a
// command names the generation it read and is refused (ReasonStale) if
// another changed the record meanwhile; the services decide, retry, and
// never hand the store a plaintext value.
// The package does no validation of user input beyond the invariants it owns
// (revision numbering, cluster deletion rules); callers validate first.
package store
