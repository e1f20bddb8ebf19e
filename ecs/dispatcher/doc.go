// Package dispatcher keeps the control plane's side of the agent sessions:
// one gRPC stream per container instance's agent.
//
// An agent registers (the store gives its instance an id, or takes back the
// one its ec2InstanceId had), is sent the full set of its instance's tasks,
// then each change to their desired state as it is committed, with sequence
// numbers; it heartbeats, and reports task state changes in batches that are
// acknowledged once durable. Heartbeats touch memory only.
//
// An agent silent past the TTL is cut off and its instance marked
// agentConnected=false; if no new session opens within another TTL, its tasks
// are lost: STOPPED with a reason, so that services replace them. A control
// plane that starts gives every agent the longer restart grace to come back. When the
// agent returns, the full set it is sent no longer holds them, so it stops
// them. The store is the source of truth; the dispatcher keeps no state that a
// restart of the control plane would need.
//
// An assignment carries what the control plane plugs in beyond the task and
// its definition (Config.ImagePulls and Config.Inside: pull credentials, the
// task role's credentials, the front door's address, resolved secrets),
// made as it is sent and never stored. SendTaskCredentials hands renewed
// role credentials to a session, beside its assignments.
//
// Container output (berth's GetTaskLogs) does not travel on the session, so
// that heartbeats and state changes never wait behind it: StreamTaskLogs sends
// the agent a LogsRequest over its session, and the agent answers on a
// TaskLogs call of its own, whose first message names the request. The call's
// handler hands the chunks to the waiting StreamTaskLogs; when that caller
// hangs up, the handler ends the call, which tells the agent to stop reading.
//
// A command run in a task's container (berth exec) travels the same way, on
// a TaskExec call that carries both directions: StreamExec sends an
// ExecRequest, the call's handler sends the caller's input and hands the
// command's output back. The handler sends no more input than the agent's
// window (ExecInputWindow messages) beyond what the agent said it took, so
// that it never waits on an agent whose command does not read; when the
// caller hangs up, the handler ends the call, and the agent ends the command.
//
// The dispatcher owns two goroutines, both started by Run and ended with its
// context: the fan-out of committed task changes to sessions, and the reaper
// of silent agents. Each session is served on the gRPC handler's goroutine,
// plus one that reads the stream; so is each TaskLogs call.
package dispatcher
