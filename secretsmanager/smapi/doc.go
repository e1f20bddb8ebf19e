// Package smapi is Secrets Manager's operations: one gRPC handler per
// operation (berth.v1.SecretsManager), also served on the AWS front door as
// Secrets Manager's JSON 1.1 wire (secretsmanager.*). Handlers read the
// store, let package secretsmanager decide, seal and open values with the
// data dir's key (package atrest), and write through store commands that
// name the generation they read, retrying when another change came first.
// Purge (run by the control plane's loop) removes secrets whose recovery
// window ended.
//
// Values are opened only for GetSecretValue and Resolve; no error or log
// line of this package carries one.
package smapi
