// Package chaos attacks berth with real processes and checks that nothing it
// acknowledged is lost: the control plane built from cmd/controlplane and
// killed with SIGKILL at random points of mixed writes from several clients,
// then restarted on the same data dir; hollow agents (agent.Run over the
// hollow runtime, in a child process of the test binary that serves the
// runtime's own record of its containers on loopback) killed with SIGKILL
// and restarted on their data dirs; a hollow agent in a network namespace of
// its own (ip netns; root), reaching the control plane over a veth pair (its
// record served on a Unix socket in its data dir), cut off for longer than
// the agent TTL and healed; a corrupt, truncated or empty state file at
// start; and, where the machine allows mounting a tmpfs, a full disk under
// the state file.
//
// The scenarios are functions (ControlPlaneKills, AgentKills, Partitions)
// that the package's tests run at a size that fits CI and bench/chaos runs
// long. Each takes a seed for its random source, prints it, and returns a
// Tally printed as one line (the test binary prints the sum of the
// scenarios it ran too):
//
//	chaos: N kills, M acknowledged writes, 0 lost, 0 duplicates, 0 orphans, 1 partition
//
// A program using the package calls MaybeRunAgent first thing in main (or
// TestMain): the same executable is started again as the hollow agent.
package chaos
