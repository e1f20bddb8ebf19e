// Package dockertest connects berth's tests to the local Docker daemon and cleans up
// after them. Every Docker test in the project gets its client from Client, which skips
// the test when no daemon is reachable, or fails it when BERTH_REQUIRE_DOCKER=1 (as CI
// sets it). Every object a test creates carries the label berth.test=1 (Labels) and is
// removed in t.Cleanup, so a failed test leaves nothing behind, and
// `docker container prune --filter label=berth.test=1` sweeps what a killed one left.
//
// It is for tests only and must never pull: no registry is reachable in CI.
package dockertest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// RequireEnv is the environment variable that turns a missing daemon into a failure.
const RequireEnv = "BERTH_REQUIRE_DOCKER"

// LabelTest marks every Docker object a test creates.
const LabelTest = "berth.test"

var (
	pingOnce sync.Once
	pingErr  error
)

// NewClient returns a client for the daemon named by the DOCKER_* environment,
// negotiating the API version (the daemon may be older than the SDK).
func NewClient() (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
}

// Client returns a client for t, closed when t ends, its API version already
// negotiated (lazy negotiation races with the SDK's event stream). It skips t when no
// daemon answers, unless BERTH_REQUIRE_DOCKER=1, which fails t instead.
func Client(t testing.TB) *client.Client {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("Docker is required (%s=1): %v", RequireEnv, err)
		}
		t.Skipf("no Docker daemon (set %s=1 to fail instead): %v", RequireEnv, err)
	}
	cli, err := NewClient()
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli.NegotiateAPIVersion(ctx)
	return cli
}

// Available reports why the daemon cannot be used, or nil. It asks once per process.
func Available() error {
	pingOnce.Do(func() {
		cli, err := NewClient()
		if err != nil {
			pingErr = err
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cli.Ping(ctx); err != nil {
			pingErr = fmt.Errorf("ping: %w", err)
		}
	})
	return pingErr
}

// Labels returns the labels that mark a test's objects, merged over extra.
func Labels(extra map[string]string) map[string]string {
	out := map[string]string{LabelTest: "1"}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// Context returns a context for cleanup work that outlives the test's own.
func Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
