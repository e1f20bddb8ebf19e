// Package cptest runs berth for tests: a real control plane on loopback with
// its own data dir, clients for its ECS API, and agents on the hollow
// runtime, all stopped in the test's cleanup. It is for tests only.
package cptest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
)

// Cluster is a running control plane and clients of its ECS and berth APIs;
// calls made with Ctx carry the admin token.
type Cluster struct {
	CP    *controlplane.ControlPlane
	ECS   berthv1.ECSClient
	Berth berthv1.BerthClient
	// Ctx carries the admin token.
	Ctx context.Context
}

// Start starts a control plane with cfg (data dir and loopback addresses
// filled in) and shuts it down in t's cleanup.
func Start(t testing.TB, cfg controlplane.Config) *Cluster {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if cfg.RegistryAddr == "" {
		cfg.RegistryAddr = "127.0.0.1:0"
	}
	cp, err := controlplane.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cp.Shutdown(ctx); err != nil {
			t.Errorf("control plane shutdown: %v", err)
		}
	})
	c := &Cluster{CP: cp}
	conn := c.Dial(t)
	c.ECS, c.Berth = berthv1.NewECSClient(conn), berthv1.NewBerthClient(conn)
	c.Ctx = metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken())
	return c
}

// Dial opens a gRPC connection to the control plane, closed in t's cleanup
// (before the control plane shuts down).
func (c *Cluster) Dial(t testing.TB) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(c.CP.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Agent is an agent running in the test.
type Agent struct {
	Runtime *hollow.Runtime
	DataDir string
	stop    context.CancelFunc
	done    chan error
}

// StartAgent runs an agent with cfg (control plane, join token, runtime and
// data dir filled in when empty; a hollow runtime by default) until Stop or
// t's cleanup.
func (c *Cluster) StartAgent(t testing.TB, cfg agent.Config) *Agent {
	t.Helper()
	a := &Agent{DataDir: cfg.DataDir, done: make(chan error, 1)}
	if a.DataDir == "" {
		a.DataDir = t.TempDir()
	}
	cfg.DataDir = a.DataDir
	if cfg.Runtime == nil {
		a.Runtime = hollow.New(hollow.Config{})
		cfg.Runtime = a.Runtime
	} else if h, ok := cfg.Runtime.(*hollow.Runtime); ok {
		a.Runtime = h
	}
	if cfg.ControlPlane == "" {
		cfg.ControlPlane = c.CP.GRPCAddr()
	}
	if cfg.JoinToken == "" {
		cfg.JoinToken = c.CP.JoinToken()
	}
	if cfg.CPU == 0 {
		cfg.CPU, cfg.Memory = 4096, 8192
	}
	var ctx context.Context
	ctx, a.stop = context.WithCancel(context.Background())
	go func() { a.done <- agent.Run(ctx, cfg) }()
	t.Cleanup(func() { a.Stop() })
	return a
}

// Stop stops the agent (its containers stay, as a killed agent's would) and
// returns what Run returned.
func (a *Agent) Stop() error {
	a.stop()
	err := <-a.done
	a.done <- err // a second Stop returns the same
	return err
}

// WaitInstances waits until n instances have their agent connected.
func (c *Cluster) WaitInstances(t testing.TB, n int) []string {
	t.Helper()
	var arns []string
	Eventually(t, "connected container instances", func() bool {
		l, err := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{Filter: "agentConnected == true"})
		arns = l.GetContainerInstanceArns()
		return err == nil && len(arns) == n
	})
	return arns
}

// Eventually polls cond every 20 ms until it holds, failing t after 20 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Consistently checks cond every 20 ms for d and fails t the first time it
// does not hold: for what must not happen (a task lost, a host started),
// which no event announces.
func Consistently(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s: stopped holding", what)
		}
		if time.Now().After(deadline) {
			return
		}
	}
}
