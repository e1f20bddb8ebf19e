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
// Bucket tree (schema version 1):
//
//	meta
//	├── "schema"    uint32, big endian: the schema version
//	└── "revision"  uint64, big endian: revision of the last applied change
//	clusters
//	└── <name> -> berthv1.Cluster
//	families
//	└── <family> -> berthv1.TaskDefinitionFamily
//	taskdefs
//	└── <family> 0x00 <revision uint32 BE> -> berthv1.TaskDefinitionRecord
//	instances
//	└── <cluster> 0x00 <id> -> container instance (brought by the agents)
//	services
//	└── <cluster> 0x00 <name> -> service (brought by the service controller)
//	tasks
//	└── <cluster> 0x00 <id> -> task (brought by RunTask)
//
// Keys are chosen for range scans: a family's revisions are contiguous and in
// numeric order; a cluster's instances, services and tasks are contiguous.
// The package does no validation of user input beyond the invariants it owns
// (revision numbering, cluster deletion rules); callers validate first.
package store
