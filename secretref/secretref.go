// Package secretref resolves the secrets an ECS task definition names
// (containerDefinitions[].secrets[].valueFrom, logConfiguration.secretOptions,
// repositoryCredentials.credentialsParameter) to their values, in the
// control plane: an SSM parameter by name or ARN (with an optional
// ":version" or ":label"), or a Secrets Manager secret by ARN with an
// optional ":json-key:version-stage:version-id".
//
// It decides only which service a reference is for; each service resolves
// its own (ssm/ssmapi, secretsmanager/smapi). A reference to another account
// or region is refused. Errors name the reference, never a value. It does no
// I/O of its own and starts no goroutines.
package secretref

import (
	"context"
	"strings"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
)

// A Source resolves the references of one service.
type Source interface {
	Resolve(ctx context.Context, valueFrom string) (string, error)
}

// Resolver resolves references of this account and region.
type Resolver struct {
	ARNs           arn.Namer
	SSM            Source // ssmapi.Server
	SecretsManager Source // smapi.Server
}

// Kind is the service a reference is for.
type Kind int

// The kinds of references.
const (
	SSMParameter Kind = iota + 1
	Secret
)

// Classify says which service valueFrom names, refusing an ARN of another
// service, account or region.
func (r Resolver) Classify(valueFrom string) (Kind, error) {
	if valueFrom == "" {
		return 0, apierr.Field("valueFrom", "must name an SSM parameter or a Secrets Manager secret")
	}
	if !strings.HasPrefix(valueFrom, "arn:") {
		return SSMParameter, nil
	}
	parts := strings.SplitN(valueFrom, ":", 6)
	if len(parts) < 6 {
		return 0, apierr.Field("valueFrom", "%s is not an ARN", valueFrom)
	}
	if parts[3] != r.ARNs.Region || parts[4] != r.ARNs.Account {
		return 0, apierr.Field("valueFrom", "%s is of region %q and account %q; berth serves region %s, account %s",
			valueFrom, parts[3], parts[4], r.ARNs.Region, r.ARNs.Account)
	}
	switch parts[2] {
	case "ssm":
		return SSMParameter, nil
	case "secretsmanager":
		return Secret, nil
	}
	return 0, apierr.Field("valueFrom", "%s is neither an SSM parameter nor a Secrets Manager secret", valueFrom)
}

// Resolve is the value valueFrom names.
func (r Resolver) Resolve(ctx context.Context, valueFrom string) (string, error) {
	kind, err := r.Classify(valueFrom)
	if err != nil {
		return "", err
	}
	if kind == Secret {
		return r.SecretsManager.Resolve(ctx, valueFrom)
	}
	return r.SSM.Resolve(ctx, valueFrom)
}
