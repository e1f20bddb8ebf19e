// Package ecr is berth's Amazon ECR: a private image registry inside the
// control plane that `docker push`, the aws CLI and every task use.
//
// Its packages, each with one job:
//
//   - token: ECR's authorization tokens, minted and checked (pure).
//   - registry: the OCI / Docker Registry HTTP API v2 server, distribution's,
//     behind ECR's token auth, and the images it stores.
//   - ecrapi: the ECR operations (gRPC and the JSON 1.1 wire).
//   - ecrerr: ECR's exception names.
//
// This package holds nothing but this map.
package ecr
