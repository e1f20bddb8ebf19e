// Package capacity runs tasks on EC2 capacity providers as ECS does.
//
// RunTask and CreateService with a capacity provider strategy over EC2
// providers store their tasks PROVISIONING on no instance (Launch), split
// over the providers by base and weight, each carrying the placement
// strategy and constraints it was run with. A provider's instances are the
// container instances that register the attribute berth.capacity-provider
// with its name. The Manager is a hostpool.Loop the control plane runs: it
// watches those tasks and instances (the store's watch plus a periodic
// resync) and, per cluster and provider:
//
//  1. places the waiting tasks on the provider's instances with their own
//     rules (the scheduler over a snapshot of those instances), through the
//     store's AssignTasks command (which re-checks fit and moves them
//     PROVISIONING -> PENDING);
//  2. computes ECS's CapacityProviderReservation: M, the instances needed
//     (those running a task other than a DAEMON service's, plus the empty
//     instances the still-waiting tasks would fill), over N, the instances
//     running (ACTIVE ones and those starting);
//
// Steps 2 and 3 are DecideScaling (scaling.go), a pure function with
// scenarios in testdata/scaling; the loop carries out what it decides.
//
//  3. with managed scaling, steps N toward M / targetCapacity within the
//     minimum and maximum scaling step (ScalingStep): a scale-out starts
//     instances through the Provisioner (the Fargate pool's interface) and
//     the next waits for the instance warm-up period; a scale-in, once the
//     reservation stayed below the target for ScaleInAfter, sets idle
//     instances DRAINING (ECS's managed draining) and removes them once
//     their DAEMON tasks have stopped: deregistered, then stopped.
//
// Only instances the Manager can stop (those that registered a host id,
// berth.pool-host) are ever removed; others count but stay.
//
// Every goroutine belongs to the Manager's Run (its hostpool.Loop and the
// instance starts and stops it runs); in-process instances belong to the
// provisioner.
package capacity
