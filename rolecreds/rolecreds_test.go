package rolecreds

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	task = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef"
	role = "arn:aws:iam::000000000000:role/app"
)

func issuer(t *testing.T, fill byte) *Issuer {
	t.Helper()
	i, err := NewIssuer(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestIssueShape: credentials look like STS's (ASIA + 16, 40-character
// secret, whole-second expiration) and are different each time.
func TestIssueShape(t *testing.T) {
	i := issuer(t, 1)
	now := time.Unix(1_800_000_000, 123)
	c := i.Issue(task, role, now, now.Add(time.Hour))
	if !regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`).MatchString(c.AccessKeyID) {
		t.Errorf("access key id %q is not ASIA and 16 capitals or digits", c.AccessKeyID)
	}
	if len(c.SecretAccessKey) != 40 {
		t.Errorf("secret is %d characters, want 40", len(c.SecretAccessKey))
	}
	if !c.Expiration.Equal(now.Add(time.Hour).Truncate(time.Second)) || c.RoleARN != role {
		t.Errorf("expiration %v role %q", c.Expiration, c.RoleARN)
	}
	if strings.Contains(c.SessionToken, c.SecretAccessKey) {
		t.Error("the session token holds the secret")
	}
	d := i.Issue(task, role, now, now.Add(time.Hour))
	if d.AccessKeyID == c.AccessKeyID || d.SecretAccessKey == c.SecretAccessKey || d.SessionToken == c.SessionToken {
		t.Error("two issues gave the same credentials")
	}
}

// TestVerify: a token is accepted with its own access key id until it
// expires; a token of another key, another access key id, or altered is
// invalid.
func TestVerify(t *testing.T) {
	i := issuer(t, 1)
	now := time.Unix(1_800_000_000, 0)
	c := i.Issue(task, role, now, now.Add(time.Hour))
	other := i.Issue(task, role, now, now.Add(time.Hour))
	claims, secret, err := i.Verify(c.AccessKeyID, c.SessionToken, now.Add(59*time.Minute))
	if err != nil || secret != c.SecretAccessKey || claims.Subject != task || claims.RoleARN != role || !claims.IssuedAt.Equal(now) {
		t.Fatalf("Verify = %+v, %q, %v", claims, secret, err)
	}
	tampered := []byte(c.SessionToken)
	tampered[len(tokenPrefix)+3] ^= 1
	for _, tc := range []struct {
		name, akid, token string
		at                time.Time
		want              error
	}{
		{"expired", c.AccessKeyID, c.SessionToken, now.Add(time.Hour), ErrExpired},
		{"another access key id", other.AccessKeyID, c.SessionToken, now, ErrInvalid},
		{"another key's", c.AccessKeyID, issuer(t, 2).Issue(task, role, now, now.Add(time.Hour)).SessionToken, now, ErrInvalid},
		{"altered", c.AccessKeyID, string(tampered), now, ErrInvalid},
		{"not berth's", c.AccessKeyID, "IQoJb3JpZ2luX2VjEK", now, ErrInvalid},
		{"empty", c.AccessKeyID, "", now, ErrInvalid},
	} {
		_, secret, err := i.Verify(tc.akid, tc.token, tc.at)
		if !errors.Is(err, tc.want) || secret != "" {
			t.Errorf("%s: Verify = %q, %v; want %v", tc.name, secret, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), c.SecretAccessKey) || strings.Contains(err.Error(), c.SessionToken)) {
			t.Errorf("%s: the error quotes a secret: %v", tc.name, err)
		}
	}
}

// TestKeyFile: made once with mode 0600, then read back the same.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("second load: %v (same %v)", err, bytes.Equal(k1, k2))
	}
	os.WriteFile(filepath.Join(dir, KeyFile), []byte("short"), 0o600)
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Error("a short key was accepted")
	}
}

// TestDue: renewal when less than renewBefore is left.
func TestDue(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := &berthv1.RoleGrant{Expiration: float64(now.Add(30 * time.Minute).Unix())}
	for _, tc := range []struct {
		before time.Duration
		want   bool
	}{{20 * time.Minute, false}, {30*time.Minute + time.Second, true}, {time.Hour, true}} {
		if got := Due(g, now, tc.before); got != tc.want {
			t.Errorf("Due(30m left, before %s) = %v", tc.before, got)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openGrants(t *testing.T, dir string, key byte, now func() time.Time) (*Grants, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return NewGrants(st, issuer(t, key), time.Hour, now), st
}

// TestGrants: issued credentials are accepted while the grant lasts, also by
// a store opened again (a restart); renewal gives new ones and keeps the old
// valid until they expire; revocation refuses all of them; a new grant of
// the same subject does not bring back the old ones; another role's grant
// refuses the first role's.
func TestGrants(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	g, st := openGrants(t, dir, 1, clk.now)

	c1, err := g.Issue(ctx, task, role)
	if err != nil {
		t.Fatal(err)
	}
	check := func(g *Grants, c Credentials, want error) {
		t.Helper()
		claims, secret, err := g.Check(c.AccessKeyID, c.SessionToken)
		if !errors.Is(err, want) {
			t.Fatalf("Check = %v, want %v", err, want)
		}
		if err == nil && (secret != c.SecretAccessKey || claims.RoleARN != c.RoleARN || claims.Subject != task) {
			t.Fatalf("Check = %+v, %q", claims, secret)
		}
	}
	check(g, c1, nil)

	// A restart: the same data dir and key.
	st.Close()
	g, st = openGrants(t, dir, 1, clk.now)
	defer func() { st.Close() }()
	check(g, c1, nil)

	clk.t = clk.t.Add(50 * time.Minute)
	c2, err := g.Renew(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Expiration.Equal(clk.t.Add(time.Hour)) {
		t.Errorf("renewed expiration %v", c2.Expiration)
	}
	check(g, c1, nil)
	check(g, c2, nil)
	var listed []*berthv1.RoleGrant
	g.List(func(r *berthv1.RoleGrant) bool { listed = append(listed, r); return true })
	if len(listed) != 1 || listed[0].GetAccessKeyId() != c2.AccessKeyID || Due(listed[0], clk.t, 20*time.Minute) {
		t.Errorf("grants = %v", listed)
	}

	clk.t = clk.t.Add(11 * time.Minute)
	check(g, c1, ErrExpired)
	check(g, c2, nil)

	if err := g.Revoke(ctx, task); err != nil {
		t.Fatal(err)
	}
	check(g, c2, ErrRevoked)
	if err := g.Revoke(ctx, task); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := g.Renew(ctx, task); !errors.Is(err, ErrRevoked) {
		t.Errorf("renewing a revoked grant: %v", err)
	}

	clk.t = clk.t.Add(time.Second)
	c3, err := g.Issue(ctx, task, role)
	if err != nil {
		t.Fatal(err)
	}
	check(g, c3, nil)
	check(g, c2, ErrRevoked)

	c4, err := g.Issue(ctx, task, role+"2")
	if err != nil {
		t.Fatal(err)
	}
	check(g, c4, nil)
	check(g, c3, ErrRevoked)

	// Another key (the key file lost): nothing issued before is accepted.
	other := NewGrants(st, issuer(t, 2), time.Hour, clk.now)
	check(other, c4, ErrInvalid)
}
