package controlplane

import (
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// closeAtExpiry ends a mutual TLS connection when its client certificate
// expires: the handshake checks the certificate once, and an agent's
// connection would otherwise outlive it. The agent, which renewed its
// certificate before then, reconnects with the new one. (A TLS connection
// without a client certificate is returned as it is.)
func closeAtExpiry(conn net.Conn, info credentials.AuthInfo, err error) (net.Conn, credentials.AuthInfo, error) {
	if err != nil {
		return conn, info, err
	}
	ti, ok := info.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.PeerCertificates) == 0 {
		return conn, info, nil
	}
	ec := &expiringConn{Conn: conn}
	ec.timer = time.AfterFunc(time.Until(ti.State.PeerCertificates[0].NotAfter), func() { ec.Conn.Close() })
	return ec, info, nil
}

// expiringConn is a connection closed when its timer fires; closing it
// stops the timer.
type expiringConn struct {
	net.Conn
	timer *time.Timer
	once  sync.Once
}

func (c *expiringConn) Close() error {
	c.once.Do(func() { c.timer.Stop() })
	return c.Conn.Close()
}
