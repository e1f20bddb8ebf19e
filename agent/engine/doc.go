// Package engine is the agent's task engine: it runs the tasks the control plane assigns
// to this container instance with Amazon ECS's semantics, over the container runtime in
// agent/runtime, and reports every task and container state change back.
//
// The core is a task state machine (task.go and its siblings) in the manner of etcd's
// raft: it does no I/O and reads no clock. Its inputs are the task's assignment, the
// outcomes of the runtime calls it asked for, and the container states the runtime
// reports; its outputs are the runtime calls to make next (actions) and the task's
// state as ECS reports it (a TaskStateChange). It decides pull order (an image once
// per task), dependsOn (START, COMPLETE, SUCCESS, HEALTHY, with startTimeout; links,
// which imply START; volumesFrom, which implies the source is created first), which
// failures stop only their container (a non-essential one's) and which the task,
// the pause container that holds awsvpc's network and pidMode / ipcMode task's
// namespaces, essential exits,
// stop order (dependencies reversed, the awsvpc pause container last), stopCode and
// stoppedReason, health, and what each container mounts (task volumes, host paths,
// volumesFrom: volumes.go).
//
// Engine.Run is the edge: one event loop that owns the task machines, feeds them
// assignments, runtime events and action outcomes, runs their actions in goroutines it
// owns (which also make a task's volume directories before its containers need them
// and remove them after its containers), and calls Options.Report with each change.
// When Run's context ends, everything stops and the containers are left as they are: a
// restarted agent re-adopts them by their labels (runtime.LabelInstanceARN and the
// rest) instead of creating duplicates.
//
// The engine must not talk to the control plane (the session client does, and batches
// the reports), must not know how a runtime works (it speaks only runtime.Runtime), and
// must not restart a task: an ECS task that stops stays stopped; its service starts a
// new one.
//
// Where berth differs from ECS: the task reports STOPPING (not DEACTIVATING or
// DEPROVISIONING) while its containers stop; ACTIVATING only in awsvpc mode, once the
// pause container runs; awsvpc tasks report, as their containers' networkBindings, the
// ports their pause container publishes for them on the host's loopback (ECS reports
// none, and network interfaces instead, which berth does not model: loopback is the
// only address that carries traffic to berth's hosts, and load balancers' ip targets
// reach the tasks there); a container without a hard memory
// limit in a task with task-level memory is given the task's memory as its limit, as
// berth has no task-level cgroup; a task is RUNNING once every essential container
// runs, whatever its non-essential ones are still waiting for.
package engine
