// Package hostpool is the machinery shared by berth's managers of hidden
// hosts: the Fargate pool (ecs/fargate) and the EC2 capacity providers'
// instance groups (ecs/capacity) today, Lambda's execution environments and
// Batch's compute environments later. It holds what they have in common and
// nothing of what they decide:
//
//   - Provisioner, the interface that starts and stops a host (HostSpec,
//     HostID), and Command, the provisioner that runs a user-given command;
//     the in-process one is internal/inprocess.Pool;
//   - ClusterLoop, the loop that wakes a manager's pass over the clusters on
//     the store's watch, a periodic resync and its own goroutines' results.
//
// It must not import ecs/... or agent/...: the services plug their decisions
// into it, never the other way round (internal/importrules checks that).
package hostpool
