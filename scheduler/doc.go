// Package scheduler is berth's placement engine: given a Snapshot of a cluster's
// container instances and a placement Request, it decides which instance each task runs
// on, with Amazon ECS's placement strategies and constraints, and explains every decision.
//
// Placement follows ECS's pipeline, one small step per file:
//
//	strategy.go, constraint.go  ECS's placement strategies and constraints, parsed and validated
//	snapshot.go, index.go       the cluster's instances and the indexes kept over them
//	place.go                    Place: each task through filters, rank steps, selection
//	filter.go                   filter steps: status, agent, CPU, MEMORY, GPU, PORTS, constraints
//	rank.go                     rank steps: binpack, spread, random
//	binpack_resources.go        berth's multi-resource binpack: its fit score and why
//	select.go                   selection by definition: a scan of every instance
//	select_indexed.go           the same selection through the sorted indexes, without a scan
//	explain.go                  why a task failed, or why it went where it went
//	scalein.go                  which tasks of a group to stop when a service scales in
//	query_*.go                  the cluster query language (lexer, parser, subjects, evaluation),
//	                            for memberOf and ListContainerInstances' filter
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
