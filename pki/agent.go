package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// An agent's files in its data dir: the CA it pinned, its key (0600) and
// its certificate.
const (
	AgentCAFile   = "cluster-ca.crt"
	AgentKeyFile  = "agent.key"
	AgentCertFile = "agent.crt"
)

// AgentCreds is an agent's key, its certificate and the CA it pinned.
type AgentCreds struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
	CA   *x509.Certificate
}

// NewKey makes an agent's key and a certificate request signed by it (the
// control plane names the certificate; the request's subject says nothing).
func NewKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	csr, err := CSR(key)
	return key, csr, err
}

// CSR is a certificate request signed by key.
func CSR(key *ecdsa.PrivateKey) ([]byte, error) {
	return x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
}

// TLSCertificate is the agent's certificate for a TLS handshake.
func (c *AgentCreds) TLSCertificate() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
}

// RenewAt is when the certificate should be renewed: two thirds into its
// life from when it was issued (its NotBefore is backdated by clockSkew).
func (c *AgentCreds) RenewAt() time.Time {
	issued := c.Cert.NotBefore.Add(clockSkew)
	life := c.Cert.NotAfter.Sub(issued)
	if life <= 0 {
		return c.Cert.NotAfter
	}
	return issued.Add(life * 2 / 3)
}

// LoadAgent reads an agent's credentials from dir; ok is false when it has
// none yet.
func LoadAgent(dir string) (creds *AgentCreds, ok bool, err error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	keyPEM, err := read(AgentKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	certPEM, err := read(AgentCertFile)
	if err != nil {
		return nil, false, err
	}
	caPEM, err := read(AgentCAFile)
	if err != nil {
		return nil, false, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, false, fmt.Errorf("%s: no PEM block", AgentKeyFile)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", AgentKeyFile, err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", AgentCertFile, err)
	}
	ca, err := ParseCertPEM(caPEM)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", AgentCAFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, false, fmt.Errorf("%s does not match %s", AgentKeyFile, AgentCertFile)
	}
	return &AgentCreds{Key: key, Cert: cert, CA: ca}, true, nil
}

// StoreAgent writes an agent's credentials to dir (the key 0600).
func StoreAgent(dir string, c *AgentCreds) error {
	der, err := x509.MarshalECPrivateKey(c.Key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, AgentCAFile), CertPEM(c.CA), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, AgentKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, AgentCertFile), CertPEM(c.Cert), 0o644)
}
