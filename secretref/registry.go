package secretref

import (
	"context"
	"encoding/json"
	"fmt"
)

// RegistryCredentials are a private registry's username and password, from
// a container's repositoryCredentials.credentialsParameter.
type RegistryCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// ParseRegistryCredentials reads a secret's value as ECS documents it for
// private registry authentication: a JSON object with username and
// password. The error never quotes the value.
func ParseRegistryCredentials(value string) (RegistryCredentials, error) {
	var c RegistryCredentials
	if err := json.Unmarshal([]byte(value), &c); err != nil {
		return RegistryCredentials{}, fmt.Errorf("the secret's value is not a JSON object with username and password")
	}
	switch {
	case c.Username == "":
		return RegistryCredentials{}, fmt.Errorf("the secret's value has no username")
	case c.Password == "":
		return RegistryCredentials{}, fmt.Errorf("the secret's value has no password")
	}
	return c, nil
}

// RegistryCredentials resolves credentialsParameter, which must name a
// Secrets Manager secret of this account and region, to the registry
// credentials in its value.
func (r Resolver) RegistryCredentials(ctx context.Context, credentialsParameter string) (RegistryCredentials, error) {
	kind, err := r.Classify(credentialsParameter)
	if err != nil {
		return RegistryCredentials{}, err
	}
	if kind != Secret {
		return RegistryCredentials{}, fmt.Errorf("%s is not a Secrets Manager secret: repositoryCredentials.credentialsParameter must be one", credentialsParameter)
	}
	value, err := r.SecretsManager.Resolve(ctx, credentialsParameter)
	if err != nil {
		return RegistryCredentials{}, err
	}
	return ParseRegistryCredentials(value)
}
