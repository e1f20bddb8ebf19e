package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/pki"
)

// creds holds an agent's certificate, swapped when it is renewed: the next
// TLS handshake presents the new one.
type creds struct {
	cur atomic.Pointer[pki.AgentCreds]
	dir string // "" keeps them in memory only
}

// transport is what a session dials with: mutual TLS with the cluster's CA
// for a join token of the form BERTH-1-..., plain text and a bearer token
// for an older plain token.
func (s *Session) transport(ctx context.Context) (grpc.DialOption, error) {
	if !pki.IsJoinToken(s.cfg.JoinToken) {
		return grpc.WithTransportCredentials(insecureCreds()), nil
	}
	tok, err := pki.ParseJoinToken(s.cfg.JoinToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJoinRefused, err)
	}
	c := &creds{dir: s.cfg.CertDir}
	if c.dir != "" {
		have, ok, err := pki.LoadAgent(c.dir)
		if err != nil {
			return nil, fmt.Errorf("the agent's certificate: %w", err)
		}
		if ok && pki.Digest(have.CA) == tok.CADigest && time.Now().Before(have.Cert.NotAfter) {
			c.cur.Store(have)
		}
	}
	if c.cur.Load() == nil {
		if err := s.join(ctx, tok, c); err != nil {
			return nil, err
		}
	}
	s.creds = c
	pool := x509.NewCertPool()
	pool.AddCert(c.cur.Load().CA)
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    pool,
		ServerName: pki.ServerName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return c.cur.Load().TLSCertificate(), nil
		},
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// join gets the agent's first certificate: over TLS whose server
// certificate must chain to the CA the token names, with the token.
func (s *Session) join(ctx context.Context, tok pki.JoinToken, c *creds) error {
	reg, err := s.cfg.Register(ctx)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var pinErr error
	var pinned *x509.Certificate
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         pki.ServerName,
		InsecureSkipVerify: true, // verified below against the token's CA digest
		VerifyConnection: func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, pc := range cs.PeerCertificates {
				raw[i] = pc.Raw
			}
			ca, err := tok.PinnedCA(raw)
			mu.Lock()
			defer mu.Unlock()
			pinErr, pinned = err, ca
			return err
		},
	}
	conn, err := grpc.NewClient(s.cfg.ControlPlane, grpc.WithTransportCredentials(credentials.NewTLS(cfg)), grpc.WithConnectParams(connectParams))
	if err != nil {
		return err
	}
	defer conn.Close()
	key, csr, err := pki.NewKey()
	if err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for {
		callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok.String())
		resp, err := berthv1.NewAgentTrustClient(conn).Join(callCtx, &berthv1.JoinRequest{Cluster: reg.GetCluster(), InstanceId: reg.GetInstanceId(), Csr: csr})
		mu.Lock()
		perr := pinErr
		mu.Unlock()
		if errors.Is(perr, pki.ErrCAMismatch) {
			return fmt.Errorf("%w: %v", ErrJoinRefused, perr)
		}
		if err == nil {
			cert, err := pki.ParseCertPEM(resp.GetCertificate())
			if err != nil {
				return err
			}
			mu.Lock()
			ca := pinned
			mu.Unlock()
			got := &pki.AgentCreds{Key: key, Cert: cert, CA: ca}
			if c.dir != "" {
				if err := pki.StoreAgent(c.dir, got); err != nil {
					return err
				}
			}
			c.cur.Store(got)
			s.cfg.Logger.Info("joined the cluster: certificate issued", "not_after", cert.NotAfter)
			return nil
		}
		if refused(err) {
			return fmt.Errorf("%w: %v", ErrJoinRefused, err)
		}
		s.cfg.Logger.Warn("could not join the cluster; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// renew renews the certificate two thirds into its life, until ctx ends;
// a failure is retried a minute later (or sooner, near expiry).
func (s *Session) renew(ctx context.Context, conn *grpc.ClientConn) {
	c := s.creds
	client := berthv1.NewAgentTrustClient(conn)
	for {
		cur := c.cur.Load()
		wait := time.Until(cur.RenewAt())
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		csr, err := pki.CSR(cur.Key)
		if err == nil {
			var resp *berthv1.CertificateResponse
			resp, err = client.Renew(ctx, &berthv1.RenewRequest{Csr: csr})
			if err == nil {
				var cert *x509.Certificate
				if cert, err = pki.ParseCertPEM(resp.GetCertificate()); err == nil {
					next := &pki.AgentCreds{Key: cur.Key, Cert: cert, CA: cur.CA}
					if c.dir != "" {
						if err := pki.StoreAgent(c.dir, next); err != nil {
							s.cfg.Logger.Warn("could not keep the renewed certificate (it is used until the agent restarts)", "err", err)
						}
					}
					c.cur.Store(next)
					s.cfg.Logger.Info("certificate renewed", "not_after", cert.NotAfter)
					continue
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		retry := min(time.Minute, max(time.Until(cur.Cert.NotAfter)/10, time.Second))
		s.cfg.Logger.Warn("could not renew the agent's certificate; retrying", "err", err, "in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}
