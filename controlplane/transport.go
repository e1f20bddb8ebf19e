package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// tlsRecordHandshake is the first byte of a TLS connection (a handshake
// record): what a connection starts with tells TLS from plain HTTP/2.
const tlsRecordHandshake = 0x16

// sniffingCreds serves TLS (agents' mutual TLS, and callers beyond loopback)
// and, when plain is allowed, plain-text gRPC on the same listener, telling
// them apart by the connection's first byte.
type sniffingCreds struct {
	tls   credentials.TransportCredentials
	plain bool
}

func newSniffingCreds(cfg *tls.Config, plain bool) credentials.TransportCredentials {
	return &sniffingCreds{tls: credentials.NewTLS(cfg), plain: plain}
}

// errPlainRefused ends a plain-text connection to a listener beyond
// loopback.
var errPlainRefused = errors.New("this control plane speaks TLS only: connect with TLS")

func (c *sniffingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	var first [1]byte
	if _, err := io.ReadFull(conn, first[:]); err != nil {
		return nil, nil, err
	}
	pc := &peekedConn{Conn: conn, first: first[0], unread: true}
	if first[0] == tlsRecordHandshake {
		return closeAtExpiry(c.tls.ServerHandshake(pc))
	}
	if !c.plain {
		return nil, nil, errPlainRefused
	}
	return insecure.NewCredentials().ServerHandshake(pc)
}

func (c *sniffingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("sniffingCreds is for servers")
}

func (c *sniffingCreds) Info() credentials.ProtocolInfo { return c.tls.Info() }

func (c *sniffingCreds) Clone() credentials.TransportCredentials {
	return &sniffingCreds{tls: c.tls.Clone(), plain: c.plain}
}

func (c *sniffingCreds) OverrideServerName(string) error { return nil }

// peekedConn gives back the byte read to tell the protocol.
type peekedConn struct {
	net.Conn
	mu     sync.Mutex
	first  byte
	unread bool
}

func (p *peekedConn) Read(b []byte) (int, error) {
	p.mu.Lock()
	if p.unread && len(b) > 0 {
		p.unread = false
		b[0] = p.first
		p.mu.Unlock()
		return 1, nil
	}
	p.mu.Unlock()
	return p.Conn.Read(b)
}
