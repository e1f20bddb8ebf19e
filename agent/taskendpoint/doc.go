// Package taskendpoint is what a task's containers reach from inside: the task
// metadata endpoint, versions 4 and 3 (ECS_CONTAINER_METADATA_URI_V4,
// ECS_CONTAINER_METADATA_URI), and the container credentials endpoint of the
// task role (AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN), answering as the ECS agent does.
//
// berth's machines carry task traffic on loopback only (never to the
// 169.254.170.2 address the ECS agent uses), so every URI is
// http://127.0.0.1:PORT/...:
//
//   - bridge and awsvpc tasks on a runtime with network namespaces (Docker):
//     the agent opens a listener on 127.0.0.1:NetnsPort inside the network
//     namespace the container runs in (the container's own in bridge mode, the
//     pause container's in awsvpc mode), entered with setns(2) on a locked OS
//     thread, so that each task's listener is its own and answers only for its
//     task;
//   - host tasks, and every task of a runtime without namespaces (hollow): one
//     listener on the host's 127.0.0.1, shared by the tasks, which tells them
//     apart by the unguessable ids in the paths.
//
// In a bridge or awsvpc task's namespace a second listener, on
// FrontDoorPort, forwards to berth's front door when the task's
// AWS_ENDPOINT_URL is on the host's loopback (which the task's own loopback is
// not): AWS_ENDPOINT_URL then names the forwarder, which passes each request
// on as it came, Host header included, so that its SigV4 signature holds.
//
// A task's listeners are closed and its credentials forgotten when it stops;
// its metadata is forgotten when the engine forgets the task (TaskGone).
//
// The engine (agent/engine) drives a Server through the hooks of
// engine.TaskEndpoint: Environment when it builds a container, ContainerStarted
// once a container runs, TaskChanged with each state change, TaskGone. The
// agent hands it renewed credentials (Credentials).
//
// Goroutines: one http.Server per listener, each serving on a goroutine the
// Server owns (the shared listener opens when a task first needs it); Close
// stops them all and waits. The response shapes (render.go)
// are pure functions of the task's record.
//
// Ids in the paths and tokens are derived from the task's ARN under a key the
// agent keeps in its data dir, so a restarted agent answers its re-adopted
// containers at the URIs they were given (the engine tells the server of each
// re-adopted running container as of a started one).
//
// Where berth differs from ECS: a bridge container's listener opens just after the container starts (its
// namespace does not exist before), so a program that asks in its first
// milliseconds may find the port closed and retry (the AWS SDKs' credential
// providers do); awsvpc tasks have theirs before any of their containers
// starts; responses carry no VPCID, EphemeralStorageMetrics or
// network_rate_stats, which berth does not have.
package taskendpoint
