package controlplane_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, dir string) *controlplane.ControlPlane {
	t.Helper()
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func stop(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, cp *controlplane.ControlPlane) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func withToken(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func taskDef(family string) *berthv1.RegisterTaskDefinitionRequest {
	return &berthv1.RegisterTaskDefinitionRequest{
		Family:               family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(64)}},
	}
}

func TestAuth(t *testing.T) {
	cp := start(t, t.TempDir())
	defer stop(t, cp)
	conn := dial(t, cp)
	ecs := berthv1.NewECSClient(conn)

	_, err := ecs.ListClusters(context.Background(), &berthv1.ListClustersRequest{})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "authorization: Bearer") {
		t.Fatalf("no token: %v, want Unauthenticated", err)
	}
	_, err = ecs.ListClusters(withToken("wrong"), &berthv1.ListClustersRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v, want Unauthenticated", err)
	}
	_, err = ecs.ListClusters(withToken(cp.JoinToken()), &berthv1.ListClustersRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("join token on the ECS API: %v, want Unauthenticated", err)
	}
	if _, err := ecs.ListClusters(withToken(cp.AdminToken()), &berthv1.ListClustersRequest{}); err != nil {
		t.Fatalf("admin token: %v", err)
	}

	// Health and reflection need no token.
	h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", h, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	resp, err := stream.Recv()
	if err != nil || !strings.Contains(resp.String(), "berth.v1.ECS") {
		t.Fatalf("reflection: %v, %v", resp, err)
	}
	stream.CloseSend()
}

func TestTokenFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	cp := start(t, dir)
	defer stop(t, cp)
	for _, name := range []string{controlplane.AdminTokenFile, controlplane.JoinTokenFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestErrorsMapToGRPCCodes(t *testing.T) {
	cp := start(t, t.TempDir())
	defer stop(t, cp)
	ecs := berthv1.NewECSClient(dial(t, cp))
	ctx := withToken(cp.AdminToken())
	bad := taskDef("web")
	bad.NetworkMode = "awsvpc"
	bad.ContainerDefinitions[0].PortMappings = []*berthv1.PortMapping{{ContainerPort: 8080, HostPort: proto.Int32(80)}}
	_, err := ecs.RegisterTaskDefinition(ctx, bad)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(),
		"containerDefinitions[0].portMappings[0].hostPort") {
		t.Fatalf("bad task definition: %v", err)
	}
	_, err = ecs.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "nope"})
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != "Unable to describe task definition." {
		t.Fatalf("unknown task definition: %v", err)
	}
	// ECS's text is the message; berth's words are in the details.
	if info := errorInfo(err); info.GetReason() != "ClientException" || !strings.Contains(info.GetMetadata()["detail"], "nope") {
		t.Fatalf("unknown task definition: ErrorInfo %v", info)
	}
	_, err = ecs.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"nope"}})
	if err != nil {
		t.Fatalf("describe unknown cluster is a failure entry, not an error: %v", err)
	}
	_, err = ecs.CreateCapacityProvider(ctx, &berthv1.CreateCapacityProviderRequest{})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "name") {
		t.Fatalf("capacity provider without name: %v", err)
	}
	big := taskDef("big")
	big.ContainerDefinitions[0].Command = []string{strings.Repeat("x", controlplane.MaxRequestBytes)}
	_, err = ecs.RegisterTaskDefinition(ctx, big)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v, want ResourceExhausted", err)
	}
}

func TestConcurrentRegistrationsHaveNoGaps(t *testing.T) {
	cp := start(t, t.TempDir())
	defer stop(t, cp)
	ecs := berthv1.NewECSClient(dial(t, cp))
	ctx := withToken(cp.AdminToken())
	const clients, total = 50, 1000
	var (
		mu   sync.Mutex
		revs []int
		wg   sync.WaitGroup
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < total; i += clients {
				res, err := ecs.RegisterTaskDefinition(ctx, taskDef("web"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				revs = append(revs, int(res.TaskDefinition.Revision))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Ints(revs)
	if len(revs) != total {
		t.Fatalf("%d registrations acknowledged, want %d", len(revs), total)
	}
	for i, r := range revs {
		if r != i+1 {
			t.Fatalf("revision %d at position %d: gap or duplicate", r, i)
		}
	}
}

func TestDataAndTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cp := start(t, dir)
	ctx := withToken(cp.AdminToken())
	ecs := berthv1.NewECSClient(dial(t, cp))
	if _, err := ecs.RegisterTaskDefinition(ctx, taskDef("web")); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "prod"}); err != nil {
		t.Fatal(err)
	}
	token := cp.AdminToken()
	stop(t, cp)

	cp = start(t, dir)
	defer stop(t, cp)
	if cp.AdminToken() != token {
		t.Fatal("the admin token changed across a restart")
	}
	ecs = berthv1.NewECSClient(dial(t, cp))
	res, err := ecs.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web"})
	if err != nil || res.TaskDefinition.Revision != 1 {
		t.Fatalf("after restart: %v, %v", res, err)
	}
	cl, err := ecs.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"prod"}})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("cluster after restart: %v, %v", cl, err)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	cp := start(t, t.TempDir())
	defer stop(t, cp)
	get := func(path string) string {
		resp, err := http.Get("http://" + cp.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	if got := get("/healthz"); strings.TrimSpace(got) != "ok" {
		t.Fatalf("/healthz: %q", got)
	}
	ecs := berthv1.NewECSClient(dial(t, cp))
	ecs.ListClusters(withToken(cp.AdminToken()), &berthv1.ListClustersRequest{})
	m := get("/metrics?access=" + cp.ViewerToken())
	for _, want := range []string{`berth_grpc_requests_total{code="OK",method="/berth.v1.ECS/ListClusters"} 1`, "berth_store_revision 1", "berth_store_commit_duration_seconds_count"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// An EC2 capacity provider attached to a cluster, with no instance and
	// nothing to run: ECS's reservation is 100.
	ctx := withToken(cp.AdminToken())
	if _, err := ecs.CreateCapacityProvider(ctx, &berthv1.CreateCapacityProviderRequest{Name: "blue",
		AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: "blue-group"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"blue"}}); err != nil {
		t.Fatal(err)
	}
	if m := get("/metrics?access=" + cp.ViewerToken()); !strings.Contains(m, `berth_capacity_provider_reservation{cluster="default",provider="blue"} 100`) {
		t.Errorf("/metrics lacks blue's reservation")
	}
	http.DefaultClient.CloseIdleConnections()
}

// errorInfo is the google.rpc.ErrorInfo of a gRPC error's status, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
