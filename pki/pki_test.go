package pki_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth/berth/pki"
)

func TestLoadOrCreateCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, pki.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := pki.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest() != ca.Digest() {
		t.Error("a second start made another CA")
	}
	os.Remove(filepath.Join(dir, pki.CAKeyFile))
	if _, err := pki.LoadOrCreateCA(dir); err == nil {
		t.Error("a CA certificate without its key: no error")
	}
}

func TestJoinToken(t *testing.T) {
	secret, _ := pki.NewSecret()
	ca, _ := pki.NewCA(time.Now())
	tok := pki.JoinToken{CADigest: ca.Digest(), Secret: secret}
	got, err := pki.ParseJoinToken(tok.String())
	if err != nil || got != tok {
		t.Fatalf("parse %q: %v %v", tok, got, err)
	}
	for _, bad := range []string{"", "abc", "BERTH-1-", "BERTH-1-" + ca.Digest(), "BERTH-1-xx-" + secret, "BERTH-2-" + ca.Digest() + "-" + secret} {
		if _, err := pki.ParseJoinToken(bad); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
	if !pki.SecretMatches(secret, secret) || pki.SecretMatches("x", secret) || pki.SecretMatches("", "") {
		t.Error("SecretMatches")
	}
}

// TestPinnedCA: a token pins its CA; a control plane serving another CA's
// chain is refused (a join token for another CA).
func TestPinnedCA(t *testing.T) {
	now := time.Now()
	ca, _ := pki.NewCA(now)
	other, _ := pki.NewCA(now)
	tok := pki.JoinToken{CADigest: ca.Digest(), Secret: "00"}
	srv, err := ca.IssueServer([]string{"127.0.0.1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := tok.PinnedCA(srv.Certificate)
	if err != nil || pki.Digest(pinned) != ca.Digest() {
		t.Fatalf("pin: %v", err)
	}
	otherSrv, _ := other.IssueServer(nil, now, time.Hour)
	if _, err := tok.PinnedCA(otherSrv.Certificate); !errors.Is(err, pki.ErrCAMismatch) {
		t.Errorf("another CA's chain: %v, want ErrCAMismatch", err)
	}
	// A chain whose last certificate is the right CA but whose leaf another CA signed.
	forged := [][]byte{otherSrv.Certificate[0], ca.Cert.Raw}
	if _, err := tok.PinnedCA(forged); err == nil {
		t.Error("a leaf of another CA under the pinned CA: no error")
	}
}

// TestIssueClient: the certificate names the identity given, not the
// request's; another CA's certificate does not verify.
func TestIssueClient(t *testing.T) {
	now := time.Now()
	ca, _ := pki.NewCA(now)
	other, _ := pki.NewCA(now)
	_, csr, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	id := pki.Identity{Cluster: "default", Instance: "i-0123"}
	cert, err := ca.IssueClient(csr, id, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ca.Verify(cert, now)
	if err != nil || got != id {
		t.Fatalf("verify: %v %v", got, err)
	}
	if _, err := ca.Verify(cert, now.Add(2*time.Hour)); err == nil {
		t.Error("an expired certificate verified")
	}
	foreign, _ := other.IssueClient(csr, id, now, time.Hour)
	if _, err := ca.Verify(foreign, now); err == nil {
		t.Error("a certificate of another CA verified")
	}
	if _, err := ca.IssueClient([]byte("junk"), id, now, time.Hour); err == nil {
		t.Error("a junk request: no error")
	}
	if _, err := ca.IssueClient(csr, pki.Identity{Cluster: "default", Instance: "a/b"}, now, time.Hour); err == nil {
		t.Error("an instance with '/': no error")
	}
	srv, _ := ca.IssueServer(nil, now, time.Hour)
	if _, err := pki.IdentityOf(srv.Leaf); err == nil {
		t.Error("a serving certificate names an agent")
	}
}

func TestAgentFiles(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := pki.LoadAgent(dir); ok || err != nil {
		t.Fatalf("empty dir: %v %v", ok, err)
	}
	now := time.Now()
	ca, _ := pki.NewCA(now)
	key, csr, _ := pki.NewKey()
	cert, _ := ca.IssueClient(csr, pki.Identity{Cluster: "c", Instance: "i"}, now, time.Hour)
	if err := pki.StoreAgent(dir, &pki.AgentCreds{Key: key, Cert: cert, CA: ca.Cert}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := pki.LoadAgent(dir)
	if err != nil || !ok || !got.Cert.Equal(cert) || !got.CA.Equal(ca.Cert) {
		t.Fatalf("load: %v %v", ok, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, pki.AgentKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("agent.key mode %v", fi.Mode().Perm())
	}
	if !got.RenewAt().After(now) || !got.RenewAt().Before(cert.NotAfter) {
		t.Errorf("renew at %v", got.RenewAt())
	}
}
