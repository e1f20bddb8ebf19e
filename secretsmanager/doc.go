// Package secretsmanager is the pure half of berth's Secrets Manager: the
// rules on secret names, values and ids, how version stages (AWSCURRENT,
// AWSPREVIOUS, AWSPENDING and the caller's own) move between versions as
// Secrets Manager moves them, deletion with a recovery window, ListSecrets'
// filters, and the secret references ECS task definitions carry
// (ARN:json-key:version-stage:version-id).
//
// It does no I/O: no store, no clock, no randomness, no keys; values come in
// sealed. Errors are *apierr.Error with Secrets Manager's own exception names
// (ResourceNotFoundException, InvalidRequestException, ...); none quotes a
// secret's value. secretsmanager/smapi does the I/O around it.
package secretsmanager
