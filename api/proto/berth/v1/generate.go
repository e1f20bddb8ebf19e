// Package berthv1 is berth's API: the ECS-shaped gRPC service (ecs.proto),
// SSM Parameter Store and Secrets Manager (ssm.proto, secretsmanager.proto),
// key rotation (atrest.proto) and the store's command records (store.proto). The .pb.go files are generated:
// edit the .proto files and run `go generate ./api/...` (buf with local
// plugins pinned in tools/go.mod; no network needed).
package berthv1

//go:generate sh -c "cd ../.. && go tool -modfile=../../tools/go.mod buf generate"
