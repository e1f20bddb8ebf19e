package rolecreds

import (
	"context"
	"errors"
	"fmt"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// CollectionName is the store collection of the grants, by subject.
const CollectionName = "rolecreds-grants"

// maxAttempts bounds the retries of a grant's write under contention.
const maxAttempts = 10

// Grants are the subjects that may hold credentials, in the store, and the
// Issuer that makes and checks them.
type Grants struct {
	issuer   *Issuer
	coll     store.Collection[*berthv1.RoleGrant]
	lifetime time.Duration
	now      func() time.Time
}

// NewGrants returns the grants kept in st, issuing credentials that last
// lifetime (DefaultLifetime when 0). now is time.Now when nil.
func NewGrants(st *store.Store, issuer *Issuer, lifetime time.Duration, now func() time.Time) *Grants {
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	if now == nil {
		now = time.Now
	}
	return &Grants{issuer: issuer, lifetime: lifetime, now: now,
		coll: store.Collection[*berthv1.RoleGrant]{Store: st, Name: CollectionName, New: func() *berthv1.RoleGrant { return &berthv1.RoleGrant{} }}}
}

// Lifetime is how long the credentials issued last.
func (g *Grants) Lifetime() time.Duration { return g.lifetime }

// Issue returns new credentials for subject as role, making subject's grant
// first if it has none, or one for another role (which revokes the
// credentials of that role). A grant that exists is not written again: the
// renewer may then renew a little early, which is harmless.
func (g *Grants) Issue(ctx context.Context, subject, role string) (Credentials, error) {
	return g.IssueFor(ctx, subject, role, g.lifetime)
}

// IssueFor is Issue of credentials that last lifetime rather than the
// grants' own (a Lambda environment's, which cannot be renewed in its
// environment variables, last as long as the environment may). Renew
// issues the grants' lifetime.
func (g *Grants) IssueFor(ctx context.Context, subject, role string, lifetime time.Duration) (Credentials, error) {
	if lifetime <= 0 {
		lifetime = g.lifetime
	}
	if subject == "" || role == "" {
		return Credentials{}, fmt.Errorf("rolecreds: a grant needs a subject and a role")
	}
	for attempt := 1; ; attempt++ {
		now := g.now()
		creds := g.issuer.Issue(subject, role, now, now.Add(lifetime))
		old, ok, err := g.coll.Get(subject)
		if err != nil {
			return Credentials{}, err
		}
		if ok && old.Value.GetRoleArn() == role {
			return creds, nil
		}
		grant := &berthv1.RoleGrant{Subject: subject, RoleArn: role, CreatedAt: epoch(now),
			Expiration: epoch(creds.Expiration), AccessKeyId: creds.AccessKeyID}
		_, err = g.coll.Put(ctx, epoch(now), subject, grant, old.Generation)
		if apierr.HasReason(err, store.ReasonStale) && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return Credentials{}, err
		}
		return creds, nil
	}
}

// Renew issues new credentials under subject's grant and records their
// expiration; ErrRevoked when the grant is gone.
func (g *Grants) Renew(ctx context.Context, subject string) (Credentials, error) {
	var creds Credentials
	_, err := g.coll.Update(ctx, epoch(g.now()), subject, func(old *berthv1.RoleGrant, ok bool) (*berthv1.RoleGrant, error) {
		if !ok {
			return nil, ErrRevoked
		}
		now := g.now()
		creds = g.issuer.Issue(subject, old.GetRoleArn(), now, now.Add(g.lifetime))
		old.Expiration, old.AccessKeyId = epoch(creds.Expiration), creds.AccessKeyID
		return old, nil
	})
	if err != nil {
		return Credentials{}, err
	}
	return creds, nil
}

// Revoke deletes subject's grant, refusing every credential it was issued
// from now on. A subject without a grant is left as it is.
func (g *Grants) Revoke(ctx context.Context, subject string) error {
	for attempt := 1; ; attempt++ {
		old, ok, err := g.coll.Get(subject)
		if err != nil || !ok {
			return err
		}
		err = g.coll.Delete(ctx, epoch(g.now()), subject, old.Generation)
		if (apierr.HasReason(err, store.ReasonStale) || apierr.HasReason(err, store.ReasonDocumentNotFound)) && attempt < maxAttempts {
			continue
		}
		return err
	}
}

// Check verifies the credentials a request came with: the token is berth's,
// of accessKeyID, not expired (Issuer.Verify), and its subject's grant
// exists for its role and is not younger than the token. It returns the
// token's claims and the secret to check the request's signature with.
func (g *Grants) Check(accessKeyID, token string) (Claims, string, error) {
	c, secret, err := g.issuer.Verify(accessKeyID, token, g.now())
	if err != nil {
		return c, "", err
	}
	grant, ok, err := g.coll.Get(c.Subject)
	if err != nil {
		return c, "", err
	}
	if !ok || !Valid(grant.Value, c) {
		return c, "", ErrRevoked
	}
	return c, secret, nil
}

// Valid says whether grant still covers a credential with claims c: same
// subject and role, issued no earlier than the grant was made (a
// millisecond's leeway for the grant's time as stored).
func Valid(grant *berthv1.RoleGrant, c Claims) bool {
	created := time.Unix(0, int64(grant.GetCreatedAt()*1e9))
	return grant.GetSubject() == c.Subject && grant.GetRoleArn() == c.RoleARN && !c.IssuedAt.Before(created.Add(-time.Millisecond))
}

// List calls fn with every grant until fn returns false.
func (g *Grants) List(fn func(*berthv1.RoleGrant) bool) error {
	return g.coll.List("", "", func(s store.Stored[*berthv1.RoleGrant]) bool { return fn(s.Value) })
}

// Due says whether grant's credentials must be renewed at now: when less
// than renewBefore of them is left.
func Due(grant *berthv1.RoleGrant, now time.Time, renewBefore time.Duration) bool {
	exp := time.Unix(0, int64(grant.GetExpiration()*1e9))
	return exp.Sub(now) < renewBefore
}

// IsRefusal says whether err is a refusal of a credential (ErrInvalid,
// ErrExpired or ErrRevoked) rather than a failure to check it.
func IsRefusal(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) || errors.Is(err, ErrRevoked)
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
