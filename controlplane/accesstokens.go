package controlplane

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/controlplane/bearer"
	"github.com/berth/berth/store"
)

// Scopes of access tokens.
const (
	ScopeAdmin    = "admin"
	ScopeViewer   = "viewer"
	ScopeDeployer = "deployer"
)

// accessTokenPrefix starts every scoped token: "berth-t1-<ID>-<secret>",
// ID 16 characters of base32 (the token's public id; "ASIA"+ID is its access
// key id on the AWS front door), secret 64 hex digits.
const accessTokenPrefix = "berth-t1-"

// accessTokensMethodPrefix is the scoped tokens' own service (admin).
const accessTokensMethodPrefix = "/berth.v1.AccessTokens/"

// accessTokenSubject prefixes the Session.Subject of a front door caller
// signing with a scoped token's SigV4 credentials.
const accessTokenSubject = "access-token/"

// Limits of a deployer token's lists.
const maxTokenNames = 100

var tokenIDs = base32.StdEncoding.WithPadding(base32.NoPadding)

// accessTokens keeps the scoped tokens (collection "access-tokens", by id):
// their SHA-256 and scope, never the token.
type accessTokens struct {
	berthv1.UnimplementedAccessTokensServer
	coll    store.Collection[*berthv1.AccessTokenRecord]
	account string
	now     func() time.Time
	log     *slog.Logger
}

func newAccessTokens(st *store.Store, account string, log *slog.Logger) *accessTokens {
	return &accessTokens{
		coll: store.Collection[*berthv1.AccessTokenRecord]{Store: st, Name: "access-tokens",
			New: func() *berthv1.AccessTokenRecord { return &berthv1.AccessTokenRecord{} }},
		account: account, now: time.Now, log: log,
	}
}

// tokenID is the id of a token of berth's scoped form.
func tokenID(tok string) (string, bool) {
	rest, ok := strings.CutPrefix(tok, accessTokenPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "-")
	if !ok || len(id) != 16 || len(secret) != 64 {
		return "", false
	}
	if _, err := tokenIDs.DecodeString(id); err != nil {
		return "", false
	}
	if _, err := hex.DecodeString(secret); err != nil {
		return "", false
	}
	return id, true
}

// sigv4Secret is the secret access key of a token's SigV4 credentials:
// derived from the token, so that nothing but its hash is kept.
func sigv4Secret(tok string) string {
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte("berth access token SigV4 secret"))
	return strings.TrimRight(tokenIDs.EncodeToString(m.Sum(nil)), "=")[:40]
}

// accessKeyID is the access key id of a token's SigV4 credentials.
func accessKeyID(id string) string { return "ASIA" + id }

// errBadToken is any refusal of a token: unknown, revoked, wrong or expired.
var errBadToken = errors.New("invalid token")

// check returns the token's scope if tok is a stored, unexpired token.
func (a *accessTokens) check(tok string) (*berthv1.AccessToken, error) {
	id, ok := tokenID(tok)
	if !ok {
		return nil, errBadToken
	}
	rec, found, err := a.coll.Get(id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errBadToken
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], rec.Value.GetSha256()) != 1 {
		return nil, errBadToken
	}
	t := rec.Value.GetToken()
	if exp := t.GetExpiresAt(); exp > 0 && epoch(a.now()) >= exp {
		return nil, fmt.Errorf("%w: token %s expired at %s", errBadToken, id, time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	}
	return t, nil
}

// fromBearer checks "Bearer <scoped token>" credentials; ok false when they
// are not of the scoped form at all.
func (a *accessTokens) fromBearer(credentials string) (t *berthv1.AccessToken, ok bool, err error) {
	tok, found := strings.CutPrefix(credentials, "Bearer ")
	if !found || !strings.HasPrefix(tok, accessTokenPrefix) {
		return nil, false, nil
	}
	t, err = a.check(tok)
	return t, true, err
}

// canView says whether tok is a scoped token that may read the dashboard's
// data and /metrics (scope viewer or admin).
func (a *accessTokens) canView(tok string) bool {
	if !strings.HasPrefix(tok, accessTokenPrefix) {
		return false
	}
	t, err := a.check(tok)
	return err == nil && (t.GetScope() == ScopeViewer || t.GetScope() == ScopeAdmin)
}

// viewerMethods are the read-only calls a viewer token may make, beyond
// ECS's and ELB's Describe* and List*.
var viewerMethods = []string{berthMethodPrefix + "ExplainTask", berthMethodPrefix + "ExplainService"}

// isAdmin says whether tok is a stored, unexpired scoped token of scope
// admin (the dashboard's demo controls take it).
func (a *accessTokens) isAdmin(tok string) bool {
	t, err := a.check(tok)
	return err == nil && t.GetScope() == ScopeAdmin
}

// authorize decides whether a token of scope t may call method with req;
// a refusal is PermissionDenied (ECS's AccessDeniedException on the JSON
// wire) naming the token's scope.
func authorize(t *berthv1.AccessToken, method string, req any) error {
	op := method[strings.LastIndexByte(method, '/')+1:]
	switch t.GetScope() {
	case ScopeAdmin:
		return nil
	case ScopeViewer:
		if (strings.HasPrefix(method, ecsMethodPrefix) || strings.HasPrefix(method, elbMethodPrefix)) &&
			(strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")) ||
			slices.Contains(viewerMethods, method) {
			return nil
		}
		return status.Errorf(codes.PermissionDenied, "token %s has scope viewer, which may only read (ECS's Describe* and List*): %s is refused", t.GetId(), op)
	case ScopeDeployer:
		return authorizeDeployer(t, method, op, req)
	}
	return status.Errorf(codes.PermissionDenied, "token %s has an unknown scope %q", t.GetId(), t.GetScope())
}

func authorizeDeployer(t *berthv1.AccessToken, method, op string, req any) error {
	scope := fmt.Sprintf("token %s has scope deployer (services %s; families %s)", t.GetId(), listOrNone(t.GetServices()), listOrNone(t.GetFamilies()))
	switch method {
	case ecsMethodPrefix + "RegisterTaskDefinition":
		r, ok := req.(*berthv1.RegisterTaskDefinitionRequest)
		if !ok {
			break
		}
		if !slices.Contains(t.GetFamilies(), r.GetFamily()) {
			return status.Errorf(codes.PermissionDenied, "%s: RegisterTaskDefinition of family %q is refused", scope, r.GetFamily())
		}
		return nil
	case ecsMethodPrefix + "UpdateService":
		r, ok := req.(*berthv1.UpdateServiceRequest)
		if !ok {
			break
		}
		cluster, name := updatedService(r.GetCluster(), r.GetService())
		if !deployerService(t.GetServices(), cluster, name) {
			return status.Errorf(codes.PermissionDenied, "%s: UpdateService of service %q in cluster %q is refused", scope, name, cluster)
		}
		if td := r.GetTaskDefinition(); td != "" && !slices.Contains(t.GetFamilies(), familyOf(td)) {
			return status.Errorf(codes.PermissionDenied, "%s: UpdateService to task definition %q of family %q is refused", scope, td, familyOf(td))
		}
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "%s, which may call UpdateService and RegisterTaskDefinition only: %s is refused", scope, op)
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// updatedService is the cluster and name an UpdateService names: the service by
// name or ARN ("arn:...:service/CLUSTER/NAME", or the older
// "arn:...:service/NAME"), the cluster by name or ARN ("default" when none).
func updatedService(cluster, service string) (string, string) {
	if cluster == "" {
		cluster = "default"
	}
	if i := strings.LastIndexByte(cluster, '/'); strings.HasPrefix(cluster, "arn:") && i >= 0 {
		cluster = cluster[i+1:]
	}
	if rest, ok := strings.CutPrefix(service, "arn:"); ok {
		if _, res, ok := strings.Cut(rest, ":service/"); ok {
			if c, n, ok := strings.Cut(res, "/"); ok {
				return c, n
			}
			return cluster, res
		}
	}
	return cluster, service
}

// deployerService says whether a deployer's services (NAME in any cluster,
// or CLUSTER/NAME) hold cluster's service name.
func deployerService(services []string, cluster, name string) bool {
	for _, s := range services {
		if s == name || s == cluster+"/"+name {
			return true
		}
	}
	return false
}

// familyOf is the family of a task definition named by family,
// family:revision or ARN.
func familyOf(td string) string {
	if i := strings.LastIndex(td, ":task-definition/"); strings.HasPrefix(td, "arn:") && i >= 0 {
		td = td[i+len(":task-definition/"):]
	}
	if i := strings.LastIndexByte(td, ':'); i >= 0 {
		td = td[:i]
	}
	return td
}

// authorizeBearer checks a gRPC call's bearer token: the admin token, or a
// scoped token whose scope allows the call (req is nil for streams).
func (c *ControlPlane) authorizeBearer(ctx context.Context, method string, req any) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) > 0 && c.tokens != nil {
		if bearer.Matches(vals[0], c.adminToken) {
			return nil
		}
		t, scoped, err := c.tokens.fromBearer(vals[0])
		switch {
		case scoped && errors.Is(err, errBadToken):
			return status.Errorf(codes.Unauthenticated, "%v", err)
		case scoped && err != nil:
			return status.Errorf(codes.Internal, "checking the token: %v", err)
		case scoped:
			return authorize(t, method, req)
		}
	}
	return checkBearer(ctx, c.adminToken)
}

// authorizeCaller checks a front door caller's scope: callers signing with
// a scoped token's credentials may make the calls their scope allows.
func (c *ControlPlane) authorizeCaller(caller awsapi.Caller, method string, req any) error {
	id, ok := strings.CutPrefix(caller.Session.Subject, accessTokenSubject)
	if !ok || c.tokens == nil || !strings.HasPrefix(caller.Session.RoleARN, c.tokens.roleARNPrefix()) {
		return nil
	}
	rec, found, err := c.tokens.coll.Get(id)
	if err != nil {
		return err
	}
	if !found {
		return status.Errorf(codes.Unauthenticated, "token %s was revoked", id)
	}
	return authorize(rec.Value.GetToken(), method, req)
}

// roleARNPrefix is the role a scoped token's front door callers act as,
// before the scope ("arn:aws:iam::ACCOUNT:role/berth-access-token/SCOPE").
func (a *accessTokens) roleARNPrefix() string {
	return "arn:aws:iam::" + a.account + ":role/berth-access-token/"
}

// scopedSessions checks the session credentials of scoped tokens (an
// X-Amz-Security-Token of berth's scoped form) and hands the others on.
type scopedSessions struct {
	tokens *accessTokens
	next   awsapi.SessionKeys
}

func (s scopedSessions) CheckSession(keyID, token string) (awsapi.Session, string, error) {
	if !strings.HasPrefix(token, accessTokenPrefix) {
		return s.next.CheckSession(keyID, token)
	}
	t, err := s.tokens.check(token)
	switch {
	case errors.Is(err, errBadToken):
		return awsapi.Session{}, "", fmt.Errorf("%w: %v", awsapi.ErrTokenInvalid, err)
	case err != nil:
		return awsapi.Session{}, "", err
	}
	if keyID != accessKeyID(t.GetId()) {
		return awsapi.Session{}, "", fmt.Errorf("%w: access key %s is not the token's (%s)", awsapi.ErrTokenInvalid, keyID, accessKeyID(t.GetId()))
	}
	return awsapi.Session{RoleARN: s.tokens.roleARNPrefix() + t.GetScope(), Subject: accessTokenSubject + t.GetId()}, sigv4Secret(token), nil
}

// wireServices are the SigV4 services each scope may sign for: the front
// door's handlers of their own (S3) and Lambda's function URLs do not go
// through the calls' authorization, so a scope reaches only services whose
// every call does.
var wireServices = map[string][]string{
	ScopeViewer:   {"ecs", "elasticloadbalancing"},
	ScopeDeployer: {"ecs"},
}

// wireRefusal refuses a request signed with a scoped token's credentials
// for a service its scope may not sign for ("" when it may go on).
func (a *accessTokens) wireRefusal(r *http.Request) string {
	tok := r.Header.Get("X-Amz-Security-Token")
	if tok == "" {
		tok = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if !strings.HasPrefix(tok, accessTokenPrefix) {
		return ""
	}
	t, err := a.check(tok)
	if err != nil {
		return "" // the front door refuses it with its own exception
	}
	allowed, limited := wireServices[t.GetScope()]
	if !limited {
		return ""
	}
	svc := credentialService(r)
	if slices.Contains(allowed, svc) {
		return ""
	}
	return fmt.Sprintf("token %s has scope %s, which may sign for %s only: service %q is refused", t.GetId(), t.GetScope(), strings.Join(allowed, ", "), svc)
}

// credentialService is the service of a SigV4 request's credential scope
// (AKID/DATE/REGION/SERVICE/aws4_request), in its Authorization header or
// presigned query.
func credentialService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if _, after, ok := strings.Cut(h, "Credential="); ok {
			cred, _, _ = strings.Cut(after, ",")
		}
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// guardWire refuses requests signed with a scoped token's credentials for
// services beyond the token's scope (AccessDenied, 403), before the front
// door serves them.
func (a *accessTokens) guardWire(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := a.wireRefusal(r); msg != "" {
			a.log.Info("aws call refused: beyond the token's scope", "reason", msg)
			if credentialService(r) == "s3" {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>%s</Message></Error>", xmlEscape(msg))
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":%q}`, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// CreateAccessToken makes a token and keeps its hash.
func (a *accessTokens) CreateAccessToken(ctx context.Context, req *berthv1.CreateAccessTokenRequest) (*berthv1.CreateAccessTokenResponse, error) {
	t := &berthv1.AccessToken{Scope: req.GetScope(), Description: req.GetDescription()}
	switch req.GetScope() {
	case ScopeAdmin, ScopeViewer:
		if len(req.GetServices()) > 0 || len(req.GetFamilies()) > 0 {
			return nil, status.Errorf(codes.InvalidArgument, "services, families: only a token of scope deployer names them")
		}
	case ScopeDeployer:
		if len(req.GetServices()) == 0 && len(req.GetFamilies()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "services: a deployer token names at least one service or family")
		}
		for _, l := range []struct {
			field string
			names []string
		}{{"services", req.GetServices()}, {"families", req.GetFamilies()}} {
			if len(l.names) > maxTokenNames {
				return nil, status.Errorf(codes.InvalidArgument, "%s: at most %d", l.field, maxTokenNames)
			}
			for i, n := range l.names {
				if err := checkTokenName(l.field, n); err != nil {
					return nil, status.Errorf(codes.InvalidArgument, "%s[%d]: %v", l.field, i, err)
				}
			}
		}
		t.Services, t.Families = slices.Clone(req.GetServices()), slices.Clone(req.GetFamilies())
	default:
		return nil, status.Errorf(codes.InvalidArgument, "scope: must be one of admin, viewer, deployer (not %q)", req.GetScope())
	}
	if len(req.GetDescription()) > 256 {
		return nil, status.Error(codes.InvalidArgument, "description: at most 256 characters")
	}
	if req.GetValidSeconds() < 0 {
		return nil, status.Error(codes.InvalidArgument, "validSeconds: must be 0 (until revoked) or more")
	}
	var raw [10 + 32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	t.Id = tokenIDs.EncodeToString(raw[:10])
	tok := accessTokenPrefix + t.Id + "-" + hex.EncodeToString(raw[10:])
	now := a.now()
	t.CreatedAt = epoch(now)
	if v := req.GetValidSeconds(); v > 0 {
		t.ExpiresAt = epoch(now.Add(time.Duration(v) * time.Second))
	}
	sum := sha256.Sum256([]byte(tok))
	if _, err := a.coll.Put(ctx, epoch(now), t.Id, &berthv1.AccessTokenRecord{Token: t, Sha256: sum[:]}, 0); err != nil {
		return nil, err
	}
	a.log.Info("access token created", "id", t.Id, "scope", t.Scope, "services", t.Services, "families", t.Families)
	return &berthv1.CreateAccessTokenResponse{Token: tok, AccessToken: t, AccessKeyId: accessKeyID(t.Id), SecretAccessKey: sigv4Secret(tok)}, nil
}

// checkTokenName checks a deployer's service (NAME or CLUSTER/NAME) or
// family: ECS's name characters.
func checkTokenName(field, n string) error {
	parts := []string{n}
	if field == "services" {
		parts = strings.Split(n, "/")
		if len(parts) > 2 {
			return fmt.Errorf("%q: a service is NAME or CLUSTER/NAME", n)
		}
	}
	for _, p := range parts {
		if p == "" || len(p) > 255 {
			return fmt.Errorf("%q: names are 1-255 characters", n)
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("%q: names are letters, digits, hyphens and underscores", n)
			}
		}
	}
	return nil
}

// ListAccessTokens lists the tokens, oldest first.
func (a *accessTokens) ListAccessTokens(ctx context.Context, _ *berthv1.ListAccessTokensRequest) (*berthv1.ListAccessTokensResponse, error) {
	out := &berthv1.ListAccessTokensResponse{}
	err := a.coll.List("", "", func(s store.Stored[*berthv1.AccessTokenRecord]) bool {
		out.AccessTokens = append(out.AccessTokens, s.Value.GetToken())
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.AccessTokens, func(x, y *berthv1.AccessToken) int {
		if x.GetCreatedAt() != y.GetCreatedAt() {
			if x.GetCreatedAt() < y.GetCreatedAt() {
				return -1
			}
			return 1
		}
		return strings.Compare(x.GetId(), y.GetId())
	})
	return out, nil
}

// RevokeAccessToken forgets a token by id (or the token itself).
func (a *accessTokens) RevokeAccessToken(ctx context.Context, req *berthv1.RevokeAccessTokenRequest) (*berthv1.RevokeAccessTokenResponse, error) {
	id := req.GetId()
	if tid, ok := tokenID(id); ok {
		id = tid
	}
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "id: give the token's id (berth token list) or the token")
	}
	rec, found, err := a.coll.Get(id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "id: no token %q", id)
	}
	if err := a.coll.Delete(ctx, epoch(a.now()), id, rec.Generation); err != nil {
		if apierr.HasReason(err, store.ReasonStale) {
			return nil, status.Errorf(codes.Aborted, "token %s changed while revoking it: try again", id)
		}
		return nil, err
	}
	a.log.Info("access token revoked", "id", id, "scope", rec.Value.GetToken().GetScope())
	return &berthv1.RevokeAccessTokenResponse{AccessToken: proto.Clone(rec.Value.GetToken()).(*berthv1.AccessToken)}, nil
}

// MaxHeaderBytes bounds the request line and headers of one HTTP request
// on the control plane's listeners (the front door and dashboard, Lambda's
// function URLs): a flood of headers gets 431.
const MaxHeaderBytes = 64 << 10

// startAccessTokens makes the scoped tokens' keeper over the store and lets
// viewer and admin tokens read the dashboard's data and /metrics.
func (c *ControlPlane) startAccessTokens(cfg Config) {
	c.tokens = newAccessTokens(c.store, cfg.ARNs.Account, cfg.Logger)
	c.viewers.scoped = c.tokens.canView
}
