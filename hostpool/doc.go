// Package hostpool is the machinery shared by berth's managers of hidden
// hosts: the Fargate pool (ecs/fargate) and the EC2 capacity providers'
// instance groups (ecs/capacity) today, Lambda's execution environments and
// Batch's compute environments later. It holds what they have in common and
// nothing of what they decide:
//
//   - Provisioner, the interface that starts and stops a host (HostSpec,
//     HostID), and Command, the provisioner that runs a user-given command;
//     the in-process one is internal/inprocess.Pool;
//   - Loop, the one goroutine of such a manager: it wakes on the store's
//     watch, a periodic resync and the results of its own goroutines, calls
//     the manager's Decide for each cluster that may have changed, and runs
//     the Actions it returns: tasks assigned and instances drained through
//     the store, hosts started and removed (deregistered, then stopped)
//     through the Provisioner, each in a goroutine of its own. It keeps what
//     the store does not know (hosts starting, instances being removed), gives
//     up hosts that never register, and backs off after a failed start.
//
// A manager is a Decide function: it reads the store, calls its own pure
// decision (fargate.DecidePool, capacity.DecideScaling) and turns the result
// into Actions. A Lambda environment pool or a Batch compute environment
// plugs in its own.
//
// Goroutines: Run's, plus one per host start or removal in flight, all
// ended (Run waits for them) when Run's context ends.
//
// It must not import ecs/... or agent/...: the services plug their decisions
// into it, never the other way round (internal/importrules checks that).
package hostpool
