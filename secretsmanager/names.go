package secretsmanager

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/berth/berth/apierr"
)

// Limits of Secrets Manager.
const (
	MaxNameLength    = 512
	MaxValueBytes    = 65536
	SuffixLength     = 6
	MaxStages        = 20 // per version
	MaxVersions      = 100
	MinRecoveryDays  = 7
	MaxRecoveryDays  = 30
	DefaultRecovery  = 30
	secondsInADay    = 24 * 60 * 60
	minTokenLength   = 32
	maxTokenLength   = 64
	maxStageLength   = 256
	maxDescription   = 2048
	maxKmsKeyIDChars = 2048
)

var nameChars = regexp.MustCompile(`^[a-zA-Z0-9/_+=.@-]+$`)

// CheckName applies Secrets Manager's rules to a new secret's name.
func CheckName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameLength:
		return Param("Name", "must be 1 to %d characters", MaxNameLength)
	case !nameChars.MatchString(name):
		return Param("Name", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	return nil
}

// CheckValue applies the rules on a value: SecretString or SecretBinary,
// not both, at most 64 KiB. required: one must be given.
func CheckValue(str *string, bin []byte, required bool) error {
	switch {
	case str != nil && len(bin) > 0:
		return Param("SecretString", "You can't specify both a binary secret value and a string secret value in the same secret.")
	case str != nil && *str == "":
		return Param("SecretString", "must have length greater than or equal to 1")
	case str != nil && len(*str) > MaxValueBytes:
		return Param("SecretString", "must be at most %d bytes (it has %d)", MaxValueBytes, len(*str))
	case len(bin) > MaxValueBytes:
		return Param("SecretBinary", "must be at most %d bytes (it has %d)", MaxValueBytes, len(bin))
	case required && str == nil && len(bin) == 0:
		return fail(apierr.InvalidArgument, InvalidRequestException, "You must provide either SecretString or SecretBinary.")
	}
	return nil
}

// CheckToken applies the rules on a ClientRequestToken (the version id it
// becomes); "" is none.
func CheckToken(token string) error {
	if token != "" && (len(token) < minTokenLength || len(token) > maxTokenLength) {
		return Param("ClientRequestToken", "must be %d to %d characters", minTokenLength, maxTokenLength)
	}
	return nil
}

// CheckDescription and CheckKmsKeyID apply the length rules.
func CheckDescription(d string) error {
	if utf8.RuneCountInString(d) > maxDescription {
		return Param("Description", "must be at most %d characters", maxDescription)
	}
	return nil
}

// CheckKmsKeyID applies the length rule on KmsKeyId (berth keeps it as
// given: it has no KMS).
func CheckKmsKeyID(k string) error {
	if len(k) > maxKmsKeyIDChars {
		return Param("KmsKeyId", "must be at most %d characters", maxKmsKeyIDChars)
	}
	return nil
}

// SecretID is what a SecretId names: a name, or an ARN's name and (for a
// full ARN) its suffix.
type SecretID struct {
	Name   string
	Suffix string // "" for a name or a partial ARN
	ARN    bool
}

// ParseSecretID reads a SecretId: a full ARN (prefix, the name, a hyphen and
// the 6-character suffix), a partial ARN (no suffix) or a name. prefix is
// the text this account's secret ARNs put before the name. An ARN of another
// account or region names nothing here.
func ParseSecretID(field, id, prefix string) (SecretID, error) {
	if id == "" || len(id) > 2048 {
		return SecretID{}, Param(field, "must be 1 to 2048 characters")
	}
	if !strings.HasPrefix(id, "arn:") {
		return SecretID{Name: id}, nil
	}
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" {
		return SecretID{}, NotFound()
	}
	out := SecretID{Name: rest, ARN: true}
	if i := len(rest) - SuffixLength - 1; i > 0 && rest[i] == '-' {
		out.Name, out.Suffix = rest[:i], rest[i+1:]
	}
	return out, nil
}
