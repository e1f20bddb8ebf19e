package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/ecs/dispatcher"
	"github.com/berth/berth/pki"
	"github.com/berth/berth/store"
)

// DefaultAgentCertTTL is how long an agent's certificate is valid; agents
// renew it two thirds into its life.
const DefaultAgentCertTTL = 24 * time.Hour

// serverCertTTL is how long the serving certificate the CA issues at each
// start is valid.
const serverCertTTL = 365 * 24 * time.Hour

// Method prefixes of the agents' certificates and of the join token's
// rotation (admin token).
const (
	trustMethodPrefix      = "/berth.v1.AgentTrust/"
	joinTokensMethodPrefix = "/berth.v1.JoinTokens/"
)

// trust is the control plane's side of the cluster's trust: its CA, the join
// token's secret, the certificates it signs for agents and the identities it
// keeps ("trust-identities"), and the TLS its gRPC listener speaks.
type trust struct {
	berthv1.UnimplementedAgentTrustServer
	berthv1.UnimplementedJoinTokensServer

	ca      *pki.CA
	dir     string
	certTTL time.Duration
	log     *slog.Logger
	now     func() time.Time
	store   *store.Store
	idents  store.Collection[*berthv1.TrustIdentityRecord]

	// server is the CA's serving certificate; user the one given with
	// --tls-cert (served to callers that do not ask for pki.ServerName).
	server tls.Certificate
	user   *tls.Certificate

	mu       sync.Mutex // guards secret and the join token file
	secret   string
	onRotate func(token string)
}

// newTrust opens the data dir's CA and join token, making them at first
// start. A join.token of the older form (a plain secret) becomes the secret
// of a token of the new form, so that agents given the old file keep
// joining with it as a bearer token.
func newTrust(cfg Config, st *store.Store, hosts []string) (*trust, error) {
	ca, err := pki.LoadOrCreateCA(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	t := &trust{
		ca: ca, dir: cfg.DataDir, certTTL: cfg.AgentCertTTL, log: cfg.Logger, now: time.Now, store: st,
		idents: store.Collection[*berthv1.TrustIdentityRecord]{Store: st, Name: "trust-identities", New: func() *berthv1.TrustIdentityRecord { return &berthv1.TrustIdentityRecord{} }},
	}
	if t.certTTL <= 0 {
		t.certTTL = DefaultAgentCertTTL
	}
	if t.server, err = ca.IssueServer(append([]string{"localhost", "127.0.0.1", "::1"}, hosts...), time.Now(), serverCertTTL); err != nil {
		return nil, err
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		t.user = &c
	}
	path := filepath.Join(cfg.DataDir, JoinTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if t.secret, err = pki.NewSecret(); err != nil {
			return nil, err
		}
		return t, t.writeToken()
	case err != nil:
		return nil, err
	}
	text := strings.TrimSpace(string(b))
	if pki.IsJoinToken(text) {
		tok, err := pki.ParseJoinToken(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if tok.CADigest != ca.Digest() {
			return nil, fmt.Errorf("%s names another CA than %s: remove it to have a new token made", path, pki.CACertFile)
		}
		t.secret = tok.Secret
		return t, nil
	}
	if text == "" {
		return nil, fmt.Errorf("%s is empty: remove it to have a new token made", path)
	}
	t.secret = text // the older form: kept as the secret
	return t, t.writeToken()
}

// token is the current join token.
func (t *trust) token() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return pki.JoinToken{CADigest: t.ca.Digest(), Secret: t.secret}.String()
}

func (t *trust) currentSecret() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.secret
}

// writeToken writes the join token file (0600); t.mu held or not yet shared.
func (t *trust) writeToken() error {
	tok := pki.JoinToken{CADigest: t.ca.Digest(), Secret: t.secret}
	path := filepath.Join(t.dir, JoinTokenFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok.String()+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RotateJoinToken makes a new secret: the old token is refused from now on.
func (t *trust) RotateJoinToken(ctx context.Context, _ *berthv1.RotateJoinTokenRequest) (*berthv1.RotateJoinTokenResponse, error) {
	secret, err := pki.NewSecret()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	old := t.secret
	t.secret = secret
	if err := t.writeToken(); err != nil {
		t.secret = old
		t.mu.Unlock()
		return nil, status.Errorf(codes.Internal, "write the join token: %v", err)
	}
	tok := pki.JoinToken{CADigest: t.ca.Digest(), Secret: secret}.String()
	onRotate := t.onRotate
	t.mu.Unlock()
	if onRotate != nil {
		onRotate(tok)
	}
	t.log.Info("join token rotated: the old token is refused; joined agents keep their certificates")
	return &berthv1.RotateJoinTokenResponse{JoinToken: tok}, nil
}

func identityKey(id pki.Identity) string { return id.Cluster + "/" + id.Instance }

// Join signs a certificate for a new agent that presents the join token.
func (t *trust) Join(ctx context.Context, req *berthv1.JoinRequest) (*berthv1.CertificateResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing authorization: send 'authorization: Bearer <join token>'")
	}
	tok, err := pki.ParseJoinToken(strings.TrimPrefix(vals[0], "Bearer "))
	if err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "join token: %v", err)
	}
	if tok.CADigest != t.ca.Digest() {
		t.log.Warn("join refused: the token names another CA", "instance", req.GetInstanceId())
		return nil, status.Error(codes.Unauthenticated, "the join token names another CA than this control plane's")
	}
	if !pki.SecretMatches(tok.Secret, t.currentSecret()) {
		t.log.Warn("join refused: invalid join token (rotated?)", "instance", req.GetInstanceId())
		return nil, status.Error(codes.Unauthenticated, "invalid join token")
	}
	id := pki.Identity{Cluster: req.GetCluster(), Instance: req.GetInstanceId()}
	if id.Cluster == "" {
		id.Cluster = "default"
	}
	if err := pki.CheckIdentity(id); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "join: %v", err)
	}
	now := t.now()
	var cert *x509.Certificate
	_, err = t.idents.Update(ctx, epoch(now), identityKey(id), func(old *berthv1.TrustIdentityRecord, ok bool) (*berthv1.TrustIdentityRecord, error) {
		switch {
		case ok && old.Revoked:
			return nil, status.Errorf(codes.PermissionDenied, "instance %s was deregistered: it cannot join again (give the agent a new data dir)", id)
		case ok && old.NotAfter > epoch(now):
			return nil, status.Errorf(codes.AlreadyExists, "instance %s has joined already and its certificate is valid until %s: its agent renews with that certificate",
				id, time.Unix(int64(old.NotAfter), 0).UTC().Format(time.RFC3339))
		}
		c, err := t.ca.IssueClient(req.GetCsr(), id, now, t.certTTL)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "join: %v", err)
		}
		cert = c
		rec := &berthv1.TrustIdentityRecord{Cluster: id.Cluster, InstanceId: id.Instance, NotAfter: epoch(c.NotAfter)}
		if ok {
			rec.ContainerInstanceId = old.ContainerInstanceId
		}
		return rec, nil
	})
	if err != nil {
		t.log.Warn("join refused", "instance", id, "err", err)
		return nil, err
	}
	t.log.Info("agent joined", "instance", id, "not_after", cert.NotAfter)
	return &berthv1.CertificateResponse{Certificate: pki.CertPEM(cert), Ca: t.ca.CertPEM()}, nil
}

// Renew signs a new certificate for the caller's own identity.
func (t *trust) Renew(ctx context.Context, req *berthv1.RenewRequest) (*berthv1.CertificateResponse, error) {
	id, ok := peerIdentity(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "renew needs the agent's certificate (mutual TLS)")
	}
	now := t.now()
	var cert *x509.Certificate
	_, err := t.idents.Update(ctx, epoch(now), identityKey(id), func(old *berthv1.TrustIdentityRecord, ok bool) (*berthv1.TrustIdentityRecord, error) {
		if !ok || old.Revoked {
			return nil, status.Errorf(codes.PermissionDenied, "instance %s was deregistered", id)
		}
		c, err := t.ca.IssueClient(req.GetCsr(), id, now, t.certTTL)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "renew: %v", err)
		}
		cert = c
		old.NotAfter = epoch(c.NotAfter)
		return old, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.CertificateResponse{Certificate: pki.CertPEM(cert), Ca: t.ca.CertPEM()}, nil
}

// peerIdentity is the identity of the call's verified client certificate.
func peerIdentity(ctx context.Context) (pki.Identity, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return pki.Identity{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.PeerCertificates) == 0 {
		return pki.Identity{}, false
	}
	id, err := pki.IdentityOf(info.State.PeerCertificates[0])
	return id, err == nil
}

// peerNotAfter is when the call's verified client certificate expires.
func peerNotAfter(ctx context.Context) (time.Time, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return time.Time{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.PeerCertificates) == 0 {
		return time.Time{}, false
	}
	return info.State.PeerCertificates[0].NotAfter, true
}

// admitAgent lets an agent's call through: one with a verified certificate
// of an identity that is not revoked (its context then carries the
// identity for the dispatcher), or one with the join token's secret as a
// bearer token (agents of the older plain token file).
func (t *trust) admitAgent(ctx context.Context, method string) (context.Context, error) {
	id, ok := peerIdentity(ctx)
	if !ok {
		if err := checkBearer(ctx, t.currentSecret()); err != nil {
			return nil, err
		}
		return ctx, nil
	}
	if na, ok := peerNotAfter(ctx); ok && !t.now().Before(na) {
		t.log.Warn("agent refused: its certificate has expired", "instance", id, "not_after", na, "method", method)
		return nil, status.Errorf(codes.Unauthenticated, "the certificate of instance %s expired at %s: reconnect with the renewed certificate", id, na.UTC().Format(time.RFC3339))
	}
	rec, found, err := t.idents.Get(identityKey(id))
	if err != nil {
		return nil, err
	}
	if !found {
		t.log.Warn("agent refused: its certificate's identity is unknown", "instance", id, "method", method)
		return nil, status.Errorf(codes.PermissionDenied, "instance %s is unknown: join again", id)
	}
	r := rec.Value
	if !r.Revoked && r.ContainerInstanceId != "" {
		if _, err := t.store.ContainerInstance(r.Cluster, r.ContainerInstanceId); apierr.Is(err, apierr.NotFound) {
			r.Revoked = true // deregistered
			if _, err := t.idents.Put(ctx, epoch(t.now()), rec.Key, r, rec.Generation); err != nil && !apierr.HasReason(err, store.ReasonStale) {
				t.log.Warn("could not mark the identity revoked", "instance", id, "err", err)
			}
		}
	}
	if r.Revoked {
		t.log.Warn("agent refused: its container instance was deregistered", "instance", id, "method", method)
		return nil, status.Errorf(codes.PermissionDenied, "instance %s was deregistered: its certificate is revoked", id)
	}
	return dispatcher.WithIdentity(ctx, dispatcher.Identity{Cluster: id.Cluster, Instance: id.Instance}), nil
}

// registered records the container instance an identity's session
// registered, so that its deregistration revokes the identity.
func (t *trust) registered(ctx context.Context, id pki.Identity, containerInstanceARN string) {
	ciID := containerInstanceARN[strings.LastIndexByte(containerInstanceARN, '/')+1:]
	_, err := t.idents.Update(ctx, epoch(t.now()), identityKey(id), func(old *berthv1.TrustIdentityRecord, ok bool) (*berthv1.TrustIdentityRecord, error) {
		if !ok {
			return nil, errUnchanged
		}
		if old.ContainerInstanceId == ciID {
			return nil, errUnchanged
		}
		old.ContainerInstanceId = ciID
		return old, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		t.log.Warn("could not record the identity's container instance", "instance", id, "err", err)
	}
}

var errUnchanged = errors.New("unchanged")

// registeringStream notes the Registered message a session sends.
type registeringStream struct {
	grpc.ServerStream
	ctx  context.Context
	t    *trust
	id   pki.Identity
	done bool
}

func (s *registeringStream) Context() context.Context { return s.ctx }

func (s *registeringStream) SendMsg(m any) error {
	if err := s.ServerStream.SendMsg(m); err != nil {
		return err
	}
	if !s.done {
		if r := m.(*berthv1.ControlPlaneMessage).GetRegistered(); r != nil {
			s.done = true
			s.t.registered(s.ctx, s.id, r.GetContainerInstanceArn())
		}
	}
	return nil
}

// tlsConfig is the gRPC listener's TLS: the CA's certificate to callers that
// ask for pki.ServerName (agents) or when no other is given, and client
// certificates of the CA verified when given.
func (t *trust) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if t.user != nil && hello.ServerName != pki.ServerName {
				return t.user, nil
			}
			return &t.server, nil
		},
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  t.ca.Pool(),
		NextProtos: []string{"h2"},
	}
}

// beyondLoopback says whether a listen address reaches beyond this machine.
func beyondLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// listenHosts are the host names a serving certificate should carry for
// the addresses given.
func listenHosts(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		if host, _, err := net.SplitHostPort(a); err == nil && host != "" && !net.ParseIP(host).IsUnspecified() {
			out = append(out, host)
		}
	}
	if h, err := os.Hostname(); err == nil {
		out = append(out, h)
	}
	return out
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// checkBind refuses listeners beyond loopback without TLS, unless
// InsecureBind.
func checkBind(cfg Config) error {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if cfg.TLSCert != "" || cfg.TLSAuto || cfg.InsecureBind {
		return nil
	}
	for _, a := range []struct{ flag, addr string }{{"--grpc-addr", cfg.GRPCAddr}, {"--http-addr", cfg.HTTPAddr}} {
		if beyondLoopback(a.addr) {
			return fmt.Errorf("%s %s reaches beyond this machine: give --tls-cert and --tls-key, or --tls-auto for a certificate of berth's CA, or --insecure-bind to serve plain text there anyway", a.flag, a.addr)
		}
	}
	return nil
}
