package controlplane_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// wantDenied checks a refusal: PermissionDenied naming the scope.
func wantDenied(t *testing.T, what string, err error, scope string) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "scope "+scope) {
		t.Errorf("%s: %v, want PermissionDenied naming scope %s", what, err, scope)
	}
}

// TestScopedTokens: admin, viewer and deployer tokens on gRPC, stored as
// their SHA-256 only, listed and revoked; a deployer may update its
// services and register its families and nothing else, and a refused call
// changes nothing.
func TestScopedTokens(t *testing.T) {
	dir := t.TempDir()
	c := cptest.Start(t, controlplane.Config{DataDir: dir})
	conn := c.Dial(t)
	tokens := berthv1.NewAccessTokensClient(conn)
	for _, fam := range []string{"web", "db"} {
		if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, taskDef(fam)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: fam, TaskDefinition: fam, DesiredCount: proto.Int32(0)}); err != nil {
			t.Fatal(err)
		}
	}

	// Bad requests name the field.
	for _, bad := range []struct {
		req   *berthv1.CreateAccessTokenRequest
		field string
	}{
		{&berthv1.CreateAccessTokenRequest{Scope: "root"}, "scope"},
		{&berthv1.CreateAccessTokenRequest{Scope: "deployer"}, "services"},
		{&berthv1.CreateAccessTokenRequest{Scope: "viewer", Services: []string{"web"}}, "services"},
		{&berthv1.CreateAccessTokenRequest{Scope: "deployer", Families: []string{"we b"}}, "families[0]"},
		{&berthv1.CreateAccessTokenRequest{Scope: "deployer", Services: []string{"a/b/c"}}, "services[0]"},
	} {
		_, err := tokens.CreateAccessToken(c.Ctx, bad.req)
		if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), bad.field) {
			t.Errorf("CreateAccessToken(%v): %v, want InvalidArgument naming %s", bad.req, err, bad.field)
		}
	}
	if _, err := tokens.CreateAccessToken(context.Background(), &berthv1.CreateAccessTokenRequest{Scope: "admin"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("CreateAccessToken without a token: %v", err)
	}

	mk := func(req *berthv1.CreateAccessTokenRequest) *berthv1.CreateAccessTokenResponse {
		t.Helper()
		resp, err := tokens.CreateAccessToken(c.Ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	deployer := mk(&berthv1.CreateAccessTokenRequest{Scope: "deployer", Services: []string{"web"}, Families: []string{"web"}, Description: "CI for web"})
	viewer := mk(&berthv1.CreateAccessTokenRequest{Scope: "viewer"})
	admin := mk(&berthv1.CreateAccessTokenRequest{Scope: "admin"})

	// The deployer.
	dctx := withToken(deployer.GetToken())
	if _, err := c.ECS.RegisterTaskDefinition(dctx, taskDef("web")); err != nil {
		t.Fatalf("deployer registers its family: %v", err)
	}
	if _, err := c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: "web:2", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatalf("deployer updates its service: %v", err)
	}
	if _, err := c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Cluster: "default", Service: "arn:aws:ecs:us-east-1:000000000000:service/default/web"}); err != nil &&
		status.Code(err) == codes.PermissionDenied {
		t.Fatalf("deployer updates its service by ARN: %v", err)
	}
	before, err := c.ECS.DescribeServices(c.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web", "db"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ECS.RegisterTaskDefinition(dctx, taskDef("db"))
	wantDenied(t, "deployer registers another family", err, "deployer")
	_, err = c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Service: "db", DesiredCount: proto.Int32(3)})
	wantDenied(t, "deployer updates another service", err, "deployer")
	_, err = c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: "db:1"})
	wantDenied(t, "deployer deploys another family", err, "deployer")
	_, err = c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Cluster: "other", Service: "arn:aws:ecs:us-east-1:000000000000:service/other/db"})
	wantDenied(t, "deployer updates another service by ARN", err, "deployer")
	_, err = c.ECS.DeleteService(dctx, &berthv1.DeleteServiceRequest{Service: "web", Force: true})
	wantDenied(t, "deployer deletes its service", err, "deployer")
	_, err = c.ECS.ListClusters(dctx, &berthv1.ListClustersRequest{})
	wantDenied(t, "deployer lists clusters", err, "deployer")
	_, err = c.ECS.CreateCluster(dctx, &berthv1.CreateClusterRequest{ClusterName: "nope"})
	wantDenied(t, "deployer creates a cluster", err, "deployer")
	_, err = tokens.CreateAccessToken(dctx, &berthv1.CreateAccessTokenRequest{Scope: "admin"})
	wantDenied(t, "deployer makes an admin token", err, "deployer")
	_, err = berthv1.NewSSMClient(conn).GetParameter(dctx, &berthv1.GetParameterRequest{Name: "x"})
	wantDenied(t, "deployer reads a parameter", err, "deployer")
	after, err := c.ECS.DescribeServices(c.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web", "db"}})
	if err != nil {
		t.Fatal(err)
	}
	// The service scheduler may finish the earlier deployment meanwhile:
	// what a refused call would change is the desired count, the task
	// definition and the PRIMARY deployment.
	primary := func(s *berthv1.Service) string {
		for _, d := range s.GetDeployments() {
			if d.GetStatus() == "PRIMARY" {
				return d.GetId()
			}
		}
		return ""
	}
	for i, s := range after.GetServices() {
		b := before.GetServices()[i]
		if s.GetDesiredCount() != b.GetDesiredCount() || s.GetTaskDefinition() != b.GetTaskDefinition() || primary(s) != primary(b) {
			t.Errorf("service %s changed under refused calls: %v -> %v", s.GetServiceName(), b, s)
		}
	}
	if defs, err := c.ECS.ListTaskDefinitions(c.Ctx, &berthv1.ListTaskDefinitionsRequest{FamilyPrefix: "db"}); err != nil || len(defs.GetTaskDefinitionArns()) != 1 {
		t.Errorf("db's revisions after refused calls: %v %v", defs.GetTaskDefinitionArns(), err)
	}
	if _, err := c.ECS.DescribeClusters(c.Ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"nope"}}); err == nil {
		res, _ := c.ECS.DescribeClusters(c.Ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"nope"}})
		if len(res.GetClusters()) > 0 && res.GetClusters()[0].GetStatus() == "ACTIVE" {
			t.Error("a refused CreateCluster made the cluster")
		}
	}

	// The viewer reads, and nothing else; it reads the dashboard's data too,
	// which a deployer does not.
	vctx := withToken(viewer.GetToken())
	if _, err := c.ECS.ListClusters(vctx, &berthv1.ListClustersRequest{}); err != nil {
		t.Errorf("viewer lists clusters: %v", err)
	}
	if _, err := c.ECS.DescribeServices(vctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}}); err != nil {
		t.Errorf("viewer describes services: %v", err)
	}
	_, err = c.ECS.UpdateService(vctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(2)})
	wantDenied(t, "viewer updates a service", err, "viewer")
	_, err = berthv1.NewSecretsManagerClient(conn).GetSecretValue(vctx, &berthv1.GetSecretValueRequest{SecretId: "x"})
	wantDenied(t, "viewer reads a secret", err, "viewer")
	base := "http://" + c.CP.HTTPAddr()
	for _, p := range []string{"/dashboard/api/state?cluster=default", "/metrics"} {
		if got := httpStatus(t, base+p, viewer.GetToken()); got != http.StatusOK {
			t.Errorf("%s with a viewer token: %d", p, got)
		}
		if got := httpStatus(t, base+p, admin.GetToken()); got != http.StatusOK {
			t.Errorf("%s with an admin-scoped token: %d", p, got)
		}
		if got := httpStatus(t, base+p, deployer.GetToken()); got != http.StatusUnauthorized {
			t.Errorf("%s with a deployer token: %d, want 401", p, got)
		}
	}

	// The admin token of scope admin calls everything.
	actx := withToken(admin.GetToken())
	if _, err := c.ECS.CreateCluster(actx, &berthv1.CreateClusterRequest{ClusterName: "made-by-token"}); err != nil {
		t.Errorf("admin-scoped token creates a cluster: %v", err)
	}
	list, err := tokens.ListAccessTokens(actx, &berthv1.ListAccessTokensRequest{})
	if err != nil || len(list.GetAccessTokens()) != 3 {
		t.Fatalf("ListAccessTokens: %v %v", list, err)
	}
	if d := list.GetAccessTokens()[0]; d.GetId() != deployer.GetAccessToken().GetId() || d.GetScope() != "deployer" || d.GetServices()[0] != "web" || d.GetDescription() != "CI for web" {
		t.Errorf("first token listed: %v", d)
	}

	// Stored hashed: the state file holds each token's SHA-256, never the token.
	state, err := os.ReadFile(filepath.Join(dir, controlplane.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*berthv1.CreateAccessTokenResponse{deployer, viewer, admin} {
		sum := sha256.Sum256([]byte(r.GetToken()))
		if bytes.Contains(state, []byte(r.GetToken())) || bytes.Contains(state, []byte(r.GetSecretAccessKey())) {
			t.Errorf("the state file holds token %s or its secret", r.GetAccessToken().GetId())
		}
		if !bytes.Contains(state, sum[:]) {
			t.Errorf("the state file lacks token %s's SHA-256", r.GetAccessToken().GetId())
		}
	}

	// Revoked: refused from then on; a wrong secret under a real id too.
	if _, err := tokens.RevokeAccessToken(c.Ctx, &berthv1.RevokeAccessTokenRequest{Id: deployer.GetAccessToken().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.UpdateService(dctx, &berthv1.UpdateServiceRequest{Service: "web"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a revoked token: %v, want Unauthenticated", err)
	}
	forged := viewer.GetToken()[:len(viewer.GetToken())-4] + "0000"
	if forged == viewer.GetToken() {
		forged = viewer.GetToken()[:len(viewer.GetToken())-4] + "1111"
	}
	if _, err := c.ECS.ListClusters(withToken(forged), &berthv1.ListClustersRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a forged token: %v, want Unauthenticated", err)
	}
	if _, err := tokens.RevokeAccessToken(c.Ctx, &berthv1.RevokeAccessTokenRequest{Id: deployer.GetAccessToken().GetId()}); status.Code(err) != codes.NotFound {
		t.Errorf("revoking twice: %v", err)
	}
	// The files' tokens keep working.
	if _, err := c.ECS.ListClusters(c.Ctx, &berthv1.ListClustersRequest{}); err != nil {
		t.Errorf("admin.token: %v", err)
	}
	if got := httpStatus(t, base+"/metrics", c.CP.ViewerToken()); got != http.StatusOK {
		t.Errorf("viewer.token on /metrics: %d", got)
	}
}

// TestDeployerOnTheJSONWire: a deployer signs with its token's SigV4
// credentials (the token as the session token): UpdateService of its
// service goes through; any other call is AccessDeniedException naming the
// scope, S3 is AccessDenied, and a revoked token is refused.
func TestDeployerOnTheJSONWire(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, taskDef("web")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	tokens := berthv1.NewAccessTokensClient(c.Dial(t))
	tok, err := tokens.CreateAccessToken(c.Ctx, &berthv1.CreateAccessTokenRequest{Scope: "deployer", Services: []string{"web"}, Families: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	creds := credentials.NewStaticCredentialsProvider(tok.GetAccessKeyId(), tok.GetSecretAccessKey(), tok.GetToken())
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), Credentials: creds, HTTPClient: httpClient, RetryMaxAttempts: 1})
	ctx := context.Background()

	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatalf("deployer's UpdateService on the JSON wire: %v", err)
	}
	denied := func(what string, err error) {
		t.Helper()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !strings.Contains(api.ErrorMessage(), "scope deployer") {
			t.Errorf("%s: %v, want AccessDeniedException naming scope deployer", what, err)
		}
	}
	_, err = client.ListClusters(ctx, &ecs.ListClustersInput{})
	denied("ListClusters", err)
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("db"), DesiredCount: aws.Int32(5)})
	denied("UpdateService of another service", err)
	_, err = client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("nope")})
	denied("CreateCluster", err)
	if res, err := c.ECS.DescribeClusters(c.Ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"nope"}}); err != nil || len(res.GetClusters()) != 0 {
		t.Errorf("a refused CreateCluster on the wire: %v %v", res.GetClusters(), err)
	}

	// S3 serves its own handler: refused before it, as S3 refuses.
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), UsePathStyle: true, Credentials: creds, HTTPClient: httpClient, RetryMaxAttempts: 1})
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("deployer-bucket")})
	var api smithy.APIError
	var resp *smithyhttp.ResponseError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" || !errors.As(err, &resp) || resp.HTTPStatusCode() != http.StatusForbidden {
		t.Errorf("S3 CreateBucket with a deployer's credentials: %v, want AccessDenied (403)", err)
	}

	// A wrong access key for the token, then a revoked token.
	other := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), HTTPClient: httpClient, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("ASIAAAAAAAAAAAAAAAAA", tok.GetSecretAccessKey(), tok.GetToken())})
	if _, err := other.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web")}); !errors.As(err, &api) || api.ErrorCode() != "UnrecognizedClientException" {
		t.Errorf("the token with another access key: %v", err)
	}
	if _, err := tokens.RevokeAccessToken(c.Ctx, &berthv1.RevokeAccessTokenRequest{Id: tok.GetToken()}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web")}); !errors.As(err, &api) || api.ErrorCode() != "UnrecognizedClientException" {
		t.Errorf("a revoked token on the wire: %v, want UnrecognizedClientException", err)
	}
}
