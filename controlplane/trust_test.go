package controlplane_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/agent/session"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/pki"
)

// syncBuffer collects a logger's output across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ec2IDs maps the connected instances' ARNs to their agents' instance ids.
func ec2IDs(t *testing.T, c *cptest.Cluster, arns []string) map[string]string {
	t.Helper()
	res, err := c.ECS.DescribeContainerInstances(c.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: arns})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, in := range res.GetContainerInstances() {
		out[in.GetContainerInstanceArn()] = in.GetEc2InstanceId()
	}
	return out
}

// mtlsConn dials the control plane with an agent's credentials.
func mtlsConn(t *testing.T, addr string, ca *x509.Certificate, cert *tls.Certificate) *grpc.ClientConn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{RootCAs: pool, ServerName: pki.ServerName, Certificates: []tls.Certificate{*cert}}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func register(id string) *berthv1.AgentMessage {
	return &berthv1.AgentMessage{Message: &berthv1.AgentMessage_Register{Register: &berthv1.RegisterInstance{
		InstanceId: id, RegisteredResources: []*berthv1.Resource{{Name: "CPU", IntegerValue: proto.Int32(1024)}, {Name: "MEMORY", IntegerValue: proto.Int32(1024)}},
	}}}
}

// TestAgentJoinsAndRenews: an agent with a BERTH-1 token pins the CA, gets
// a certificate naming its instance (key 0600) and renews it before expiry.
func TestAgentJoinsAndRenews(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{AgentCertTTL: 3 * time.Second})
	if !pki.IsJoinToken(c.CP.JoinToken()) {
		t.Fatalf("join token %q is not of the form BERTH-1-...", c.CP.JoinToken())
	}
	a := c.StartAgent(t, agent.Config{})
	arns := c.WaitInstances(t, 1)
	creds, ok, err := pki.LoadAgent(a.DataDir)
	if err != nil || !ok {
		t.Fatalf("agent credentials: %v %v", ok, err)
	}
	id, err := pki.IdentityOf(creds.Cert)
	if err != nil || id.Instance != ec2IDs(t, c, arns)[arns[0]] || id.Cluster != "default" {
		t.Fatalf("certificate names %v (%v)", id, err)
	}
	if fi, _ := os.Stat(filepath.Join(a.DataDir, pki.AgentKeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("agent key mode %v", fi.Mode().Perm())
	}
	if at := creds.RenewAt(); at.Before(time.Now()) || at.After(creds.Cert.NotAfter) {
		t.Fatalf("renewal due at %v, certificate valid until %v", at, creds.Cert.NotAfter)
	}
	first := creds.Cert.SerialNumber
	cptest.Eventually(t, "a renewed certificate", func() bool {
		now, ok, _ := pki.LoadAgent(a.DataDir)
		return ok && now.Cert.SerialNumber.Cmp(first) != 0
	})
	c.WaitInstances(t, 1) // still connected
}

// TestAgentClaimingAnotherInstance: an agent with a valid certificate can
// neither register as another instance nor report another instance's task;
// the report is refused and logged, and nothing stored changes.
func TestAgentClaimingAnotherInstance(t *testing.T) {
	logs := &syncBuffer{}
	c := cptest.Start(t, controlplane.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	a := c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	b := c.StartAgent(t, agent.Config{})
	arns := c.WaitInstances(t, 2)
	ids := ec2IDs(t, c, arns)
	credsA, _, _ := pki.LoadAgent(a.DataDir)
	credsB, _, _ := pki.LoadAgent(b.DataDir)
	idA, _ := pki.IdentityOf(credsA.Cert)
	idB, _ := pki.IdentityOf(credsB.Cert)
	var arnB string
	for arn, ec2 := range ids {
		if ec2 == idB.Instance {
			arnB = arn
		}
	}
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "web",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "web", Image: "busybox", Memory: proto.Int32(64), Essential: proto.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	run, err := c.ECS.StartTask(c.Ctx, &berthv1.StartTaskRequest{TaskDefinition: "web", ContainerInstances: []string{arnB}})
	if err != nil || len(run.GetTasks()) != 1 {
		t.Fatalf("StartTask: %v %v", run, err)
	}
	task := run.GetTasks()[0].GetTaskArn()
	running := func() bool {
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{task}})
		return err == nil && len(d.GetTasks()) == 1 && d.GetTasks()[0].GetLastStatus() == "RUNNING"
	}
	cptest.Eventually(t, "the task RUNNING on B", running)

	conn := mtlsConn(t, c.CP.GRPCAddr(), credsA.CA, credsA.TLSCertificate())
	sessions := berthv1.NewAgentSessionsClient(conn)

	// Registering as B with A's certificate.
	stream, err := sessions.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(register(idB.Instance)); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), idA.Instance) {
		t.Fatalf("registering as another instance: %v, want PermissionDenied naming the certificate's instance", err)
	}

	// Registering as A, then reporting B's task stopped.
	a.Stop()
	stream, err = sessions.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(register(idA.Instance)); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.GetRegistered() == nil {
		t.Fatalf("registering as itself: %v %v", m, err)
	}
	err = stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: &berthv1.TaskStateChanges{
		Batch: 1, Tasks: []*berthv1.TaskStateChange{{TaskArn: task, LastStatus: "STOPPED", StoppedReason: "forged"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if m.GetAck() != nil {
			break
		}
	}
	stream.CloseSend()
	if !running() {
		t.Fatal("another instance's report stopped the task")
	}
	if !strings.Contains(logs.String(), "agent state report refused") {
		t.Error("the refused report was not logged")
	}
}

// TestJoinTokenForAnotherCA: an agent whose token names another CA refuses
// the control plane (it cannot pin its CA) and registers nothing.
func TestJoinTokenForAnotherCA(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	other, _ := pki.NewCA(time.Now())
	tok, _ := pki.ParseJoinToken(c.CP.JoinToken())
	tok.CADigest = other.Digest()
	err := agent.Run(context.Background(), agent.Config{ControlPlane: c.CP.GRPCAddr(), JoinToken: tok.String(),
		CPU: 1024, Memory: 1024, Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir()})
	if !errors.Is(err, session.ErrJoinRefused) || !strings.Contains(err.Error(), "CA") {
		t.Fatalf("agent with another CA's token: %v", err)
	}
	noInstances(t, c)
}

func noInstances(t *testing.T, c *cptest.Cluster) {
	t.Helper()
	list, err := c.ECS.ListContainerInstances(c.Ctx, &berthv1.ListContainerInstancesRequest{})
	if err != nil || len(list.GetContainerInstanceArns()) != 0 {
		t.Fatalf("instances %v (%v), want none", list.GetContainerInstanceArns(), err)
	}
}

// TestCertificateOfAnotherCA: a client certificate another CA signed is
// refused at the handshake, whatever instance it names.
func TestCertificateOfAnotherCA(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	other, _ := pki.NewCA(time.Now())
	key, csr, _ := pki.NewKey()
	cert, err := other.IssueClient(csr, pki.Identity{Cluster: "default", Instance: "i-forged"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := pki.ParseCertPEM(c.CP.CACert())
	creds := &pki.AgentCreds{Key: key, Cert: cert, CA: ca}
	conn := mtlsConn(t, c.CP.GRPCAddr(), ca, creds.TLSCertificate())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := berthv1.NewAgentSessionsClient(conn).Session(ctx)
	if err == nil {
		if err = stream.Send(register("i-forged")); err == nil {
			_, err = stream.Recv()
		}
	}
	if err == nil || status.Code(err) == codes.OK {
		t.Fatal("a certificate of another CA was let in")
	}
	noInstances(t, c)
}

// TestRotateJoinToken: after rotation the old token is refused, the new one
// joins, and an agent that joined before keeps working (it reconnects with
// its certificate).
func TestRotateJoinToken(t *testing.T) {
	dir := t.TempDir()
	c := cptest.Start(t, controlplane.Config{DataDir: dir})
	old := c.CP.JoinToken()
	a := c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	res, err := berthv1.NewJoinTokensClient(c.Dial(t)).RotateJoinToken(c.Ctx, &berthv1.RotateJoinTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetJoinToken() == old || res.GetJoinToken() != c.CP.JoinToken() {
		t.Fatalf("rotated token %q (old %q, now %q)", res.GetJoinToken(), old, c.CP.JoinToken())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, controlplane.JoinTokenFile)); strings.TrimSpace(string(b)) != res.GetJoinToken() {
		t.Errorf("join.token holds %q", b)
	}
	err = agent.Run(context.Background(), agent.Config{ControlPlane: c.CP.GRPCAddr(), JoinToken: old,
		CPU: 1024, Memory: 1024, Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir()})
	if !errors.Is(err, session.ErrJoinRefused) {
		t.Fatalf("the old token: %v, want ErrJoinRefused", err)
	}
	a.Stop()
	c.StartAgent(t, agent.Config{DataDir: a.DataDir, JoinToken: old}) // it has its certificate
	c.WaitInstances(t, 1)
	c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 2)
	// Without the admin token, no rotation.
	if _, err := berthv1.NewJoinTokensClient(c.Dial(t)).RotateJoinToken(context.Background(), &berthv1.RotateJoinTokenRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("rotation without the admin token: %v", err)
	}
}

// TestDeregisteredInstanceCannotReconnect: DeregisterContainerInstance
// revokes the instance's certificate: a connected agent is cut off and
// refused when it comes back, and so is one that was away.
func TestDeregisteredInstanceCannotReconnect(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{ControlPlane: c.CP.GRPCAddr(), JoinToken: c.CP.JoinToken(),
			CPU: 1024, Memory: 1024, Runtime: hollow.New(hollow.Config{}), DataDir: t.TempDir()})
	}()
	arns := c.WaitInstances(t, 1)
	if _, err := c.ECS.DeregisterContainerInstance(c.Ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: arns[0], Force: proto.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrJoinRefused) {
			t.Fatalf("the connected agent of a deregistered instance: %v, want refused", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the connected agent was not cut off")
	}

	a := c.StartAgent(t, agent.Config{})
	arns = c.WaitInstances(t, 1)
	a.Stop()
	if _, err := c.ECS.DeregisterContainerInstance(c.Ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: arns[0], Force: proto.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	err := agent.Run(ctx2, agent.Config{ControlPlane: c.CP.GRPCAddr(), JoinToken: c.CP.JoinToken(),
		CPU: 1024, Memory: 1024, Runtime: hollow.New(hollow.Config{}), DataDir: a.DataDir})
	if !errors.Is(err, session.ErrJoinRefused) || !strings.Contains(err.Error(), "deregistered") {
		t.Fatalf("a deregistered instance's agent: %v, want refused as deregistered", err)
	}
	noInstances(t, c)
}

// TestBindBeyondLoopback: a listener beyond loopback without TLS is refused
// unless InsecureBind; with TLS, plain-text gRPC is refused there and TLS
// with the CA works.
func TestBindBeyondLoopback(t *testing.T) {
	_, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: t.TempDir(), GRPCAddr: "0.0.0.0:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "--insecure-bind") {
		t.Fatalf("binding 0.0.0.0 without TLS: %v", err)
	}
	c := cptest.Start(t, controlplane.Config{GRPCAddr: "0.0.0.0:0", HTTPAddr: "0.0.0.0:0", TLSAuto: true})
	_, port, _ := strings.Cut(c.CP.GRPCAddr(), "]:")
	if port == "" {
		_, port, _ = strings.Cut(c.CP.GRPCAddr(), ":")
	}
	addr := "127.0.0.1:" + port
	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(c.Ctx, 3*time.Second)
	defer cancel()
	if _, err := berthv1.NewECSClient(plain).ListClusters(ctx, &berthv1.ListClustersRequest{}); err == nil {
		t.Fatal("plain text beyond loopback was served")
	}
	ca, _ := pki.ParseCertPEM(c.CP.CACert())
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	secure, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	if _, err := berthv1.NewECSClient(secure).ListClusters(c.Ctx, &berthv1.ListClustersRequest{}); err != nil {
		t.Fatalf("TLS with the CA: %v", err)
	}
	// HTTP beyond loopback is HTTPS with the CA's certificate.
	_, httpPort, _ := strings.Cut(c.CP.HTTPAddr(), "]:")
	if httpPort == "" {
		_, httpPort, _ = strings.Cut(c.CP.HTTPAddr(), ":")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://127.0.0.1:" + httpPort + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS /healthz: %s", resp.Status)
	}
	plainHTTP := &http.Client{Transport: &http.Transport{}}
	defer plainHTTP.CloseIdleConnections()
	if resp, err := plainHTTP.Get("http://127.0.0.1:" + httpPort + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP beyond loopback was served")
		}
	}
}
