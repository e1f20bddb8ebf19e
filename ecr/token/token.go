// Package token mints and checks the passwords of berth's registry, as ECR's
// GetAuthorizationToken hands them out: the authorization token is
// base64("AWS:" + password) and the registry accepts the password with user
// name AWS in HTTP Basic auth, until it expires.
//
// A password is "berth1." + base64url(claims) + "." + base64url(HMAC-SHA256
// of the claims under the registry's key). The key is berth's own (made at
// first start and kept in its data dir), so a password of another berth, or
// one whose claims were changed, fails the check; the claims say when it
// expires and whether it may push.
//
// The package is pure: the key and the time are passed in, nothing is read
// or remembered.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TTL is how long a token from GetAuthorizationToken is valid: 12 hours, as
// ECR's.
const TTL = 12 * time.Hour

// User is the user name that goes with every password, as ECR's.
const User = "AWS"

const prefix = "berth1."

// Scope is what a password lets its holder do.
type Scope string

// The scopes: Push (GetAuthorizationToken's: pull and push) and Pull (the
// credential an agent gets with a task: pull only).
const (
	Push Scope = "push"
	Pull Scope = "pull"
)

// Claims are what a password says.
type Claims struct {
	// Expires is when the password stops being accepted, in Unix seconds.
	Expires int64 `json:"exp"`
	// Scope is Push or Pull.
	Scope Scope `json:"scope"`
}

// Errors of Check.
var (
	ErrMalformed = errors.New("not a berth registry password")
	ErrForged    = errors.New("signature does not match: a password of another berth, or changed")
	ErrExpired   = errors.New("expired")
)

// Mint returns a password with the claims, signed with key.
func Mint(key []byte, c Claims) string {
	body, _ := json.Marshal(c) // a struct of an int and a string: never fails
	enc := base64.RawURLEncoding
	return prefix + enc.EncodeToString(body) + "." + enc.EncodeToString(sign(key, body))
}

// Check returns the claims of password if key signed it and it has not
// expired at now.
func Check(key []byte, password string, now time.Time) (Claims, error) {
	rest, ok := strings.CutPrefix(password, prefix)
	if !ok {
		return Claims{}, ErrMalformed
	}
	b64body, b64sig, ok := strings.Cut(rest, ".")
	if !ok {
		return Claims{}, ErrMalformed
	}
	enc := base64.RawURLEncoding
	body, err1 := enc.DecodeString(b64body)
	sig, err2 := enc.DecodeString(b64sig)
	if err1 != nil || err2 != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(sig, sign(key, body)) {
		return Claims{}, ErrForged
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil {
		return Claims{}, ErrMalformed
	}
	if now.Unix() >= c.Expires {
		return Claims{}, fmt.Errorf("%w at %s", ErrExpired, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	return c, nil
}

// AuthorizationToken is ECR's authorizationToken for a password:
// base64("AWS:" + password).
func AuthorizationToken(password string) string {
	return base64.StdEncoding.EncodeToString([]byte(User + ":" + password))
}

func sign(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}
