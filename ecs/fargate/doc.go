// Package fargate is berth's Fargate mode: tasks that need no instances.
//
// RunTask and CreateService with launchType FARGATE (or a capacity provider
// strategy over the built-in FARGATE and FARGATE_SPOT providers) store their
// tasks PROVISIONING on no instance (NewTask, Provision). The pool is split
// as service/servicecontroller are: DecidePool (pool.go) is the pure
// decision, with scenarios in testdata/pool; the Manager is a hostpool.Loop
// that reads each cluster's pool from the store, calls it and has the loop
// carry it out. Per cluster, DecidePool:
//
//  1. assigns waiting tasks to the pool hosts that are up, bin-packed with
//     the scheduler's binpack(resources) over their free room, largest tasks
//     first (the loop applies them through the store's AssignTasks, which
//     re-checks fit and moves them PROVISIONING -> PENDING);
//  2. works out how many more hosts the rest needs by placing it, the same
//     way, over the hosts already starting plus hypothetical empty hosts of
//     the configured size, and starts that many (a task larger than the
//     host size gets a host of its own size);
//  3. removes hosts that ran no task for the cooldown (the loop deregisters
//     the instance, then stops the host).
//
// Pool hosts are container instances whose agent registers the attribute
// berth.pool=fargate (store.IsPoolHost) and berth.pool-host=<host id>. The
// ECS API hides them (ListContainerInstances, DescribeContainerInstances,
// the cluster's registeredContainerInstancesCount), EC2 placement never uses
// them and Fargate tasks run on nothing else. A pool is per cluster, since an
// instance belongs to one cluster.
//
// Provisioners (hostpool.Provisioner): hostpool.Command runs a user-given
// command to start or stop a host (for pools of machines that run the agent
// binary). The in-process one, whose hosts are agents in the control plane's
// process (hollow in tests, Docker in -dev), is internal/inprocess.Pool: it
// links the agent, which no package of the control plane imports. Without a
// provisioner the manager still assigns tasks to pool hosts that register by
// themselves (a static pool) but never starts or stops one.
//
// Every goroutine belongs to the Manager's Run (its hostpool.Loop and the
// host starts and stops it runs) or to the provisioner (an in-process
// pool's agents, ended by Close).
package fargate
