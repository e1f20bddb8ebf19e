package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

type noRepositories struct{}

func (noRepositories) ECRRepository(string) (*berthv1.EcrRepositoryRecord, bool, error) {
	return nil, false, nil
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth registry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestRegistryRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	cert, _, _ := selfSigned(t, dir)
	for _, tc := range []struct {
		name, addr, cert, key, want string
	}{
		{"all addresses without TLS", "0.0.0.0:0", "", "", "beyond loopback"},
		{"a host name without TLS", "registry.example:0", "", "", "beyond loopback"},
		{"a certificate without its key", "127.0.0.1:0", cert, "", "both the certificate and the key"},
		{"a key that is not one", "127.0.0.1:0", cert, cert, "registry TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Start(context.Background(), Config{DataDir: dir, Addr: tc.addr, Key: []byte("k"),
				Repositories: noRepositories{}, TLSCertFile: tc.cert, TLSKeyFile: tc.key})
			if err == nil {
				r.Close(context.Background())
				t.Fatalf("started on %s", tc.addr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestRegistryServesTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	r, err := Start(context.Background(), Config{DataDir: dir, Addr: "127.0.0.1:0", Key: []byte("k"),
		Repositories: noRepositories{}, TLSCertFile: cert, TLSKeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if !strings.HasPrefix(r.URL(), "https://") {
		t.Fatalf("URL %s, want https", r.URL())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(r.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ over TLS without credentials: %d, want 401", resp.StatusCode)
	}
	plain, err := http.Get("http://" + r.Addr() + "/v2/")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS registry: %d, want Go's 400 for HTTP on a TLS port", plain.StatusCode)
		}
	}
}
