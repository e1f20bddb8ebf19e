package chaos

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/pki"
)

// BuildControlPlane builds cmd/controlplane into dir (with the race detector
// when race) and returns the binary's path.
func BuildControlPlane(dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "controlplane")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/berth/berth/cmd/controlplane")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build cmd/controlplane: %v\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address whose port was free a moment ago: the
// control plane listens on the same one across its restarts, so that agents
// and clients find it again.
func FreeAddr() (string, error) { return FreeAddrOn("127.0.0.1") }

// FreeAddrOn is FreeAddr on one of this machine's addresses, host.
func FreeAddrOn(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ControlPlane is the control plane binary run on one data dir, started and
// killed again and again on the same gRPC address.
type ControlPlane struct {
	Bin, DataDir, GRPCAddr string
	Args                   []string // more flags

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *lines
	done chan error
}

var servingLine = regexp.MustCompile(`control plane serving" grpc=(\S+)`)

// lines keeps the last lines a process printed, for failure messages.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, s)
	if len(l.l) > 400 {
		l.l = l.l[len(l.l)-200:]
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

// Start runs the control plane and waits up to timeout until it serves. An
// exit before it serves is an error holding its output.
func (c *ControlPlane) Start(timeout time.Duration) error {
	args := append([]string{"--data-dir", c.DataDir, "--grpc-addr", c.GRPCAddr, "--http-addr", "127.0.0.1:0",
		"--registry-addr", "127.0.0.1:0", "--lambda-url-addr", "127.0.0.1:0", "--no-throttle"}, c.Args...)
	cmd := exec.Command(c.Bin, args...)
	dieWithParent(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	logs, done, serving := &lines{}, make(chan error, 1), make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logs.add(sc.Text())
			if servingLine.MatchString(sc.Text()) {
				select {
				case serving <- struct{}{}:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		done <- cmd.Wait()
	}()
	c.mu.Lock()
	c.cmd, c.logs, c.done = cmd, logs, done
	c.mu.Unlock()
	select {
	case <-serving:
		return nil
	case err := <-done:
		done <- err
		return &ExitError{Err: err, Output: logs.String()}
	case <-time.After(timeout):
		c.Kill()
		return fmt.Errorf("control plane did not serve within %s\n%s", timeout, logs)
	}
}

// ExitError is a control plane that exited before serving.
type ExitError struct {
	Err    error
	Output string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("control plane exited before serving: %v\n%s", e.Err, e.Output)
}

// Kill ends the control plane with SIGKILL and waits for it.
func (c *ControlPlane) Kill() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL) // an error means it has exited
	err := <-done
	done <- err
}

// Exited reports whether the process started last has exited, and how.
func (c *ControlPlane) Exited() (bool, error) {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	select {
	case err := <-done:
		done <- err
		return true, err
	default:
		return false, nil
	}
}

// Logs returns the last lines of the running (or last) process.
func (c *ControlPlane) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logs == nil {
		return ""
	}
	return c.logs.String()
}

// Token reads the admin token from the data dir.
func (c *ControlPlane) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// JoinToken reads the join token from the data dir.
func (c *ControlPlane) JoinToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "join.token"))
	return strings.TrimSpace(string(b)), err
}

// Client is an ECS client over gRPC that finds the control plane again after
// each restart.
type Client struct {
	berthv1.ECSClient
	conn *grpc.ClientConn
	auth string
}

// Dial connects a Client to c: in plain text on loopback, with TLS
// (trusting the data dir's CA) on an address beyond it.
func (c *ControlPlane) Dial() (*Client, error) {
	tok, err := c.Token()
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if host, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
		return nil, err
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		pem, err := os.ReadFile(filepath.Join(c.DataDir, pki.CACertFile))
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", pki.CACertFile)
		}
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	// Calls wait for the control plane to be back (within their
	// deadlines) rather than fail at once, and reconnecting backs off
	// one second at most: it dies and returns all the time.
	conn, err := grpc.NewClient(c.GRPCAddr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}, MinConnectTimeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	return &Client{ECSClient: berthv1.NewECSClient(conn), conn: conn, auth: "Bearer " + tok}, nil
}

// Ctx returns ctx with the client's credentials.
func (cl *Client) Ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", cl.auth)
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.conn.Close() }

// CheckStateFile opens a bbolt file read-only and runs its consistency check.
func CheckStateFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s does not open: %w", path, err)
	}
	defer db.Close()
	var errs []error
	db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s fails its consistency check: %w", path, errors.Join(errs...))
	}
	return nil
}
