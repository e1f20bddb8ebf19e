package pki

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// tokenPrefix starts every join token (version 1 of its form).
const tokenPrefix = "BERTH-1-"

// JoinToken is an agent's join token: the digest of the CA it pins on first
// contact, and the secret that earns it a certificate.
type JoinToken struct {
	CADigest string // hex SHA-256 of the CA certificate, 64 characters
	Secret   string // 64 hex characters
}

// String is the token's form: BERTH-1-<CA digest>-<secret>.
func (t JoinToken) String() string { return tokenPrefix + t.CADigest + "-" + t.Secret }

// IsJoinToken says whether s has the form of a join token (rather than an
// older plain bearer token).
func IsJoinToken(s string) bool { return strings.HasPrefix(s, tokenPrefix) }

// ParseJoinToken reads a token of the form BERTH-1-<CA digest>-<secret>.
func ParseJoinToken(s string) (JoinToken, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), tokenPrefix)
	if !ok {
		return JoinToken{}, fmt.Errorf("a join token starts with %s", tokenPrefix)
	}
	digest, secret, ok := strings.Cut(rest, "-")
	if !ok || !isHex(digest, 64) || !isHex(secret, 64) {
		return JoinToken{}, fmt.Errorf("a join token is %s<64 hex digits: the CA's digest>-<64 hex digits: the secret>", tokenPrefix)
	}
	return JoinToken{CADigest: strings.ToLower(digest), Secret: strings.ToLower(secret)}, nil
}

// NewSecret is a new random secret for a join token.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// SecretMatches compares a presented secret with the current one in
// constant time.
func SecretMatches(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ErrCAMismatch is the refusal of a control plane whose CA is not the one
// the join token names.
var ErrCAMismatch = errors.New("the control plane's CA is not the one the join token names")

// PinnedCA checks the chain a control plane served on first contact (leaf
// first, its CA last) against the token's digest, and returns the CA to pin.
func (t JoinToken) PinnedCA(chain [][]byte) (*x509.Certificate, error) {
	if len(chain) < 2 {
		return nil, fmt.Errorf("%w: it sent no CA certificate", ErrCAMismatch)
	}
	ca, err := x509.ParseCertificate(chain[len(chain)-1])
	if err != nil {
		return nil, err
	}
	if Digest(ca) != t.CADigest {
		return nil, fmt.Errorf("%w (it sent %s)", ErrCAMismatch, Digest(ca))
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: ServerName}); err != nil {
		return nil, fmt.Errorf("the control plane's certificate: %w", err)
	}
	return ca, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
