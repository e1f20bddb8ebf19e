package token

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	key, other := []byte("key of this berth"), []byte("key of another berth")
	now := time.Unix(1_800_000_000, 0)
	good := Mint(key, Claims{Expires: now.Add(TTL).Unix(), Scope: Push})

	c, err := Check(key, good, now)
	if err != nil || c.Scope != Push {
		t.Fatalf("Check(fresh) = %+v, %v; want push", c, err)
	}
	if _, err := Check(key, good, now.Add(TTL)); !errors.Is(err, ErrExpired) {
		t.Errorf("Check at expiry = %v, want ErrExpired", err)
	}
	if _, err := Check(other, good, now); !errors.Is(err, ErrForged) {
		t.Errorf("Check with another berth's key = %v, want ErrForged", err)
	}
	// Claims changed to push by a holder of a pull password.
	pull := Mint(key, Claims{Expires: now.Add(time.Hour).Unix(), Scope: Pull})
	parts := strings.Split(strings.TrimPrefix(pull, prefix), ".")
	forged := prefix + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1900000000,"scope":"push"}`)) + "." + parts[1]
	if _, err := Check(key, forged, now); !errors.Is(err, ErrForged) {
		t.Errorf("Check(changed claims) = %v, want ErrForged", err)
	}
	for _, bad := range []string{"", "password", prefix, prefix + "x", prefix + "!!.!!"} {
		if _, err := Check(key, bad, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("Check(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestAuthorizationToken(t *testing.T) {
	b, err := base64.StdEncoding.DecodeString(AuthorizationToken("pw"))
	if err != nil || string(b) != "AWS:pw" {
		t.Errorf("AuthorizationToken decodes to %q, %v", b, err)
	}
}
