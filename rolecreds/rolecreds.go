// Package rolecreds issues and checks berth's short-lived role credentials:
// the keys a task (its task definition's taskRoleArn), and later a Lambda
// function, uses to call berth's AWS front door as a role. They are shaped
// as AWS STS's: an access key id ASIA..., a 40-character secret access key,
// a session token, an expiration.
//
// Nothing secret is stored. A credential is derived from one server key of
// 32 random bytes (KeyFile in the data dir, mode 0600, made at first start):
// the session token carries the access key id, the subject (a task's ARN),
// the role, when it was issued and when it expires, sealed by an HMAC-SHA256
// of the key; the secret access key is the HMAC of the access key id under
// the key. Checking a request therefore needs the key only: the token's MAC
// proves berth issued it, and the secret is derived again to check the
// SigV4 signature. A restart keeps both the key and what was issued valid.
//
// Revocation needs state, kept in the store as a RoleGrant per subject (the
// "rolecreds-grants" collection, see Grants): a credential is accepted only
// while its subject's grant exists, names the same role and is not younger
// than the credential. Deleting the grant (when the task stops) revokes
// every credential of the subject at once, however long each had to run.
//
// Issuer and Verify are pure (no I/O, no goroutines); Grants reads and
// writes the store on its caller's goroutine. The package starts no
// goroutines: the control plane's loop renews and revokes.
package rolecreds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultLifetime is how long a task's credentials last unless configured.
const DefaultLifetime = time.Hour

// KeySize is the server key's length in bytes.
const KeySize = 32

// Credentials are one issue of a role's short-lived keys.
type Credentials struct {
	RoleARN         string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// Claims are what a session token says, once its MAC is checked.
type Claims struct {
	AccessKeyID string
	Subject     string
	RoleARN     string
	IssuedAt    time.Time
	Expiration  time.Time
}

// The ways a credential is refused. Errors wrap one of these; none quotes a
// secret or a token.
var (
	// ErrInvalid: not a token berth issued (malformed, another key's, or
	// not of the access key id it came with).
	ErrInvalid = errors.New("the security token included in the request is invalid")
	// ErrExpired: berth issued it, and it has expired.
	ErrExpired = errors.New("the security token included in the request is expired")
	// ErrRevoked: berth issued it, and its subject's grant is gone (the
	// task stopped) or was made anew.
	ErrRevoked = errors.New("the security token included in the request is invalid: its credentials were revoked")
)

// Issuer issues and checks credentials with one server key.
type Issuer struct {
	key []byte
}

// NewIssuer returns an Issuer over key (KeySize bytes).
func NewIssuer(key []byte) (*Issuer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("rolecreds: the key must be %d bytes, not %d", KeySize, len(key))
	}
	return &Issuer{key: append([]byte(nil), key...)}, nil
}

// tokenPrefix begins every session token berth issues (its format's version).
const tokenPrefix = "BRTH1"

// claims is a token's payload as encoded.
type claims struct {
	K string `json:"k"` // access key id
	S string `json:"s"` // subject
	R string `json:"r"` // role ARN
	I int64  `json:"i"` // issued at, Unix nanoseconds
	E int64  `json:"e"` // expiration, Unix seconds
}

var (
	b64   = base64.RawURLEncoding
	upper = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// Issue makes credentials for subject to act as role from now until
// expiration (whole seconds, as STS's are). The access key id is random.
func (i *Issuer) Issue(subject, role string, now, expiration time.Time) Credentials {
	var id [10]byte
	rand.Read(id[:])
	akid := "ASIA" + upper.EncodeToString(id[:]) // 16 characters of A-Z2-7
	expiration = expiration.Truncate(time.Second)
	payload, _ := json.Marshal(claims{K: akid, S: subject, R: role, I: now.UnixNano(), E: expiration.Unix()})
	enc := b64.EncodeToString(payload)
	token := tokenPrefix + "." + enc + "." + b64.EncodeToString(i.mac("token", enc))
	return Credentials{RoleARN: role, AccessKeyID: akid, SecretAccessKey: i.secret(akid), SessionToken: token, Expiration: expiration}
}

// Verify checks that token is one berth issued with accessKeyID and has not
// expired at now, and returns its claims and the secret access key the
// request must be signed with. It does not know revocations (Grants.Check
// does).
func (i *Issuer) Verify(accessKeyID, token string, now time.Time) (Claims, string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != tokenPrefix {
		return Claims{}, "", ErrInvalid
	}
	mac, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, i.mac("token", parts[1])) {
		return Claims{}, "", ErrInvalid
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return Claims{}, "", ErrInvalid
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.K == "" {
		return Claims{}, "", ErrInvalid
	}
	if c.K != accessKeyID {
		return Claims{}, "", fmt.Errorf("%w: it was issued with another access key id", ErrInvalid)
	}
	out := Claims{AccessKeyID: c.K, Subject: c.S, RoleARN: c.R, IssuedAt: time.Unix(0, c.I), Expiration: time.Unix(c.E, 0)}
	if !now.Before(out.Expiration) {
		return out, "", fmt.Errorf("%w: it expired at %s", ErrExpired, out.Expiration.UTC().Format(time.RFC3339))
	}
	return out, i.secret(c.K), nil
}

// IsSessionKey says whether accessKeyID is shaped as a temporary key.
func IsSessionKey(accessKeyID string) bool { return strings.HasPrefix(accessKeyID, "ASIA") }

// secret is the secret access key of akid: 40 characters, as AWS's.
func (i *Issuer) secret(akid string) string {
	return base64.StdEncoding.EncodeToString(i.mac("secret", akid))[:40]
}

// mac is the HMAC-SHA256 of purpose and data under the key.
func (i *Issuer) mac(purpose, data string) []byte {
	h := hmac.New(sha256.New, i.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(data))
	return h.Sum(nil)
}
