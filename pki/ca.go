package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of the CA in the control plane's data dir.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// ServerName is the DNS name every serving certificate the CA issues
// carries, and the name agents verify: an agent reaches the control plane
// by any address and still checks that it speaks to the cluster's.
const ServerName = "berth-control-plane"

// caLifetime is how long the CA is valid (it is made once, at first start).
const caLifetime = 10 * 365 * 24 * time.Hour

// clockSkew backdates certificates a little, for clocks that disagree.
const clockSkew = 5 * time.Minute

// CA is the cluster's certificate authority.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
}

// LoadOrCreateCA reads the CA in dir, making one (key mode 0600) at first
// start.
func LoadOrCreateCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case cerr == nil && kerr == nil:
		return ParseCA(certPEM, keyPEM)
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
	case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
		return nil, cerr
	case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
		return nil, kerr
	default:
		return nil, fmt.Errorf("%s and %s go together: one is missing (remove both to make a new CA; every agent must then join again)", certPath, keyPath)
	}
	ca, err := NewCA(time.Now())
	if err != nil {
		return nil, err
	}
	keyPEM, err = ca.keyPEM()
	if err != nil {
		return nil, err
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// NewCA makes a new CA.
func NewCA(now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "berth cluster CA", Organization: []string{"berth"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key}, nil
}

// ParseCA reads a CA from its PEM certificate and key.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("CA certificate: not a CA")
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("CA key: no PEM block")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("CA key: does not match the CA certificate")
	}
	return &CA{Cert: cert, key: key}, nil
}

// CertPEM is the CA's certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

func (ca *CA) keyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(ca.key.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// Digest is the join token's name for the CA: the SHA-256 of its
// certificate, in hex.
func (ca *CA) Digest() string { return Digest(ca.Cert) }

// Digest is the SHA-256 of a certificate, in hex.
func Digest(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Pool is a pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueServer issues a serving certificate for ServerName and the given
// host names and addresses, with a new key, valid for ttl. Its chain holds
// the CA, so that a joining agent can check the CA's digest.
func (ca *CA) IssueServer(hosts []string, now time.Time, ttl time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: ServerName, Organization: []string{"berth"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{ServerName},
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// Identity is what a client certificate names: a container instance (its
// agent's instance id, the ec2InstanceId) of a cluster.
type Identity struct {
	Cluster  string
	Instance string
}

func (id Identity) String() string { return id.Cluster + "/" + id.Instance }

// organization marks the Organization of a client certificate; the cluster
// is the OrganizationalUnit and the instance the CommonName.
const organization = "berth-agent"

// CheckIdentity checks the names of an identity: a cluster and an instance
// id of 1-255 printable characters without '/'.
func CheckIdentity(id Identity) error {
	for _, f := range []struct{ name, v string }{{"cluster", id.Cluster}, {"instance", id.Instance}} {
		if f.v == "" || len(f.v) > 255 {
			return fmt.Errorf("%s: must be 1-255 characters", f.name)
		}
		for _, r := range f.v {
			if r < 0x21 || r > 0x7e || r == '/' {
				return fmt.Errorf("%s: %q has a character other than printable ASCII without '/'", f.name, f.v)
			}
		}
	}
	return nil
}

// IssueClient signs a certificate request for id, valid for ttl from now.
// The request's signature is checked and its subject ignored: the
// certificate names id only.
func (ca *CA) IssueClient(csrDER []byte, id Identity, now time.Time, ttl time.Duration) (*x509.Certificate, error) {
	if err := CheckIdentity(id); err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("certificate request: the key must be ECDSA P-256")
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id.Instance, OrganizationalUnit: []string{id.Cluster}, Organization: []string{organization}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// IdentityOf is the identity a client certificate names, once its chain is
// verified (tls does that, with the CA's pool as ClientCAs).
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	s := cert.Subject
	if len(s.Organization) != 1 || s.Organization[0] != organization || len(s.OrganizationalUnit) != 1 {
		return Identity{}, errors.New("the certificate names no berth agent")
	}
	id := Identity{Cluster: s.OrganizationalUnit[0], Instance: s.CommonName}
	return id, CheckIdentity(id)
}

// Verify checks a client certificate against the CA at now and returns the
// identity it names.
func (ca *CA) Verify(cert *x509.Certificate, now time.Time) (Identity, error) {
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return Identity{}, err
	}
	return IdentityOf(cert)
}

// ParseCertPEM reads the first certificate of a PEM text.
func ParseCertPEM(b []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM certificate")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// CertPEM is a certificate in PEM.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// writeFile writes a new file whole (a temporary file renamed over it).
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
