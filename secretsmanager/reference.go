package secretsmanager

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth/berth/apierr"
)

// Reference is a Secrets Manager secret as an ECS task definition's
// secrets[].valueFrom names it:
// arn:aws:secretsmanager:region:account:secret:NAME-XXXXXX[:json-key[:version-stage[:version-id]]].
type Reference struct {
	SecretID     string // the ARN up to the secret's name (and suffix)
	JSONKey      string
	VersionStage string
	VersionID    string
}

// ParseReference reads a valueFrom that names a secret by ARN.
func ParseReference(valueFrom string) (Reference, error) {
	parts := strings.Split(valueFrom, ":")
	// arn aws secretsmanager region account secret NAME [key [stage [id]]]
	if len(parts) < 7 || len(parts) > 10 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return Reference{}, apierr.Field("valueFrom",
			"a Secrets Manager secret is named arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]")
	}
	r := Reference{SecretID: strings.Join(parts[:7], ":")}
	rest := append(parts[7:], "", "", "")
	r.JSONKey, r.VersionStage, r.VersionID = rest[0], rest[1], rest[2]
	if r.VersionStage != "" && r.VersionID != "" {
		return Reference{}, apierr.Field("valueFrom", "give a version stage or a version id, not both")
	}
	return r, nil
}

// JSONValue is the value of key in a secret holding a JSON object: a string
// as it is, any other JSON value as JSON text. The error names the key, never
// the secret's text.
func JSONValue(secret, key string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(secret), &m); err != nil {
		return "", apierr.New(apierr.InvalidArgument, "", "the secret is not a JSON object, so it has no key %q", key)
	}
	raw, ok := m[key]
	if !ok {
		return "", apierr.New(apierr.NotFound, "", "the secret's JSON has no key %q", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	return string(raw), nil
}

// String renders r as valueFrom text (without the value).
func (r Reference) String() string {
	if r.JSONKey == "" && r.VersionStage == "" && r.VersionID == "" {
		return r.SecretID
	}
	return fmt.Sprintf("%s:%s:%s:%s", r.SecretID, r.JSONKey, r.VersionStage, r.VersionID)
}
