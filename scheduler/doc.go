// Package scheduler is berth's placement engine: given a Snapshot of a cluster's
// container instances and a placement Request, it decides which instance each task runs
// on, with Amazon ECS's placement strategies and constraints, and explains every decision.
//
// Placement follows ECS's pipeline, one small step per file:
//
//	filter.go    filter steps: instance status, agent, CPU, MEMORY, GPU, PORTS, constraints
//	rank.go      rank steps: binpack, spread, random and berth's multi-resource binpack
//	select.go    the reference selection (a linear scan) and the index-backed fast paths
//	explain.go   why a task failed (per filter counts, the closest instance) or went where it went
//	scalein.go   which tasks of a group to stop when a service scales in
//	query*.go    the cluster query language of memberOf constraints and ListContainerInstances
//
// Each rank step orders the candidates that the step before it left tied. After the last
// strategy, ties go to the instance that comes first in the snapshot, so a placement is a
// pure function of the snapshot and the request (random draws come from Request.Seed).
// Placing a task updates the snapshot, so the next task of the same request sees it.
//
// What the package must not do: import the rest of berth (the control plane adapts its
// types to Instance and Request), start goroutines, read the clock, or do I/O. A Snapshot
// is a working copy owned by one caller at a time; it is not safe for concurrent use.
// It does not commit anything: the control plane writes the placements it accepts in a
// transaction that re-checks fit.
package scheduler
