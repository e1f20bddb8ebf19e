// Package controlplane assembles berth's control plane: it opens the store in
// the data dir, keeps the tokens, serves the ECS API over gRPC (with auth,
// metrics, logging and recovery chained in one place) and the HTTP endpoints
// (/healthz, /metrics), and shuts all of it down cleanly.
//
// The ECS operations themselves live in ecsapi; this package only wires.
package controlplane
