package ecsapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func newServer(t testing.TB) *Server {
	t.Helper()
	st := storetest.Open(t)
	clock := time.Unix(1700000000, 0)
	s := New(st, arn.Default, func() time.Time { return clock })
	if err := s.EnsureDefaultCluster(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func webTaskDef(family string) *berthv1.RegisterTaskDefinitionRequest {
	return &berthv1.RegisterTaskDefinitionRequest{
		Family: family,
		ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "web", Image: "nginx", Memory: proto.Int32(256)},
		},
	}
}

func mustRegister(t testing.TB, s *Server, family string) *berthv1.TaskDefinition {
	t.Helper()
	res, err := s.RegisterTaskDefinition(ctx, webTaskDef(family))
	if err != nil {
		t.Fatal(err)
	}
	return res.TaskDefinition
}

// rejection is a bad request, the class of error it must get and a part of
// the message (the field and the rule).
type rejection struct {
	name  string
	call  func() error
	class ecserr.Class
	want  string
}

// rejections runs each bad request and checks its error and that the store
// did not change.
func rejections(t *testing.T, s *Server, tests []rejection) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.store.Revision()
			wantErr(t, tt.call(), tt.class, tt.want)
			if s.store.Revision() != before {
				t.Fatal("a rejected request changed the store")
			}
		})
	}
}

func wantErr(t *testing.T, err error, class ecserr.Class, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %q", substr)
	}
	e := ecserr.From(err)
	if e.Class != class || !strings.Contains(e.Message, substr) && !strings.Contains(e.Own(), substr) {
		t.Fatalf("error %v (class %d); want class %d containing %q", err, e.Class, class, substr)
	}
}

func TestRegisterAndDescribe(t *testing.T) {
	s := newServer(t)
	td := mustRegister(t, s, "web")
	if td.TaskDefinitionArn != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" || td.Status != "ACTIVE" || td.RegisteredAt != 1700000000 {
		t.Fatalf("registered %v", td)
	}
	mustRegister(t, s, "web")
	for _, name := range []string{"web", "web:2", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2"} {
		res, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: name})
		if err != nil || res.TaskDefinition.Revision != 2 {
			t.Fatalf("describe %s = %v, %v; want revision 2", name, res, err)
		}
	}
	if _, err := s.DeregisterTaskDefinition(ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web:2"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web"})
	if err != nil || res.TaskDefinition.Revision != 1 {
		t.Fatalf("describe web after deregistering web:2 = %v, %v; want revision 1", res, err)
	}
}

func TestTagsOnlyWhenIncluded(t *testing.T) {
	s := newServer(t)
	req := webTaskDef("web")
	req.Tags = []*berthv1.Tag{{Key: "team", Value: "a"}}
	if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
		t.Fatal(err)
	}
	res, _ := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web"})
	if len(res.Tags) != 0 {
		t.Fatal("tags returned without include TAGS")
	}
	res, _ = s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web", Include: []string{"TAGS"}})
	if len(res.Tags) != 1 {
		t.Fatal("tags missing with include TAGS")
	}
}

func TestListTaskDefinitionsPaginates(t *testing.T) {
	s := newServer(t)
	for range 5 {
		mustRegister(t, s, "web")
	}
	mustRegister(t, s, "api")
	var all []string
	req := &berthv1.ListTaskDefinitionsRequest{MaxResults: 2, Sort: "DESC"}
	for {
		res, err := s.ListTaskDefinitions(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.TaskDefinitionArns...)
		if res.NextToken == "" {
			break
		}
		req.NextToken = res.NextToken
	}
	if len(all) != 6 || !strings.HasSuffix(all[0], "web:5") || !strings.HasSuffix(all[5], "api:1") {
		t.Fatalf("listed %v", all)
	}
	fams, err := s.ListTaskDefinitionFamilies(ctx, &berthv1.ListTaskDefinitionFamiliesRequest{FamilyPrefix: "w"})
	if err != nil || len(fams.Families) != 1 || fams.Families[0] != "web" {
		t.Fatalf("families %v, %v", fams, err)
	}
}

func TestClusters(t *testing.T) {
	s := newServer(t)
	a, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "prod", Tags: []*berthv1.Tag{{Key: "env", Value: "prod"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "prod"})
	if err != nil || !proto.Equal(a, b) {
		t.Fatalf("CreateCluster is not idempotent: %v then %v (%v)", a, b, err)
	}
	desc, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{
		Clusters: []string{"prod", "arn:aws:ecs:us-east-1:000000000000:cluster/default", "nope"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 2 || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" ||
		desc.Failures[0].Arn != "arn:aws:ecs:us-east-1:000000000000:cluster/nope" {
		t.Fatalf("describe: %v", desc)
	}
	if desc.Clusters[0].Tags != nil {
		t.Fatal("tags without include TAGS")
	}
	list, _ := s.ListClusters(ctx, &berthv1.ListClustersRequest{})
	if len(list.ClusterArns) != 2 {
		t.Fatalf("list %v", list)
	}
	del, err := s.DeleteCluster(ctx, &berthv1.DeleteClusterRequest{Cluster: "prod"})
	if err != nil || del.Cluster.Status != "INACTIVE" {
		t.Fatalf("delete %v, %v", del, err)
	}
	_, err = s.DeleteCluster(ctx, &berthv1.DeleteClusterRequest{Cluster: "prod"})
	wantErr(t, err, ecserr.NotFound, `cluster "prod" not found`)
}

// Every rejected request names the field and the rule, and leaves the store
// as it was.
func TestBadInput(t *testing.T) {
	s := newServer(t)
	mustRegister(t, s, "web")
	tooManyTags := make([]*berthv1.Tag, 51)
	for i := range tooManyTags {
		tooManyTags[i] = &berthv1.Tag{Key: string(rune('a' + i%26)), Value: "x"}
	}
	rejections(t, s, []rejection{
		{"register without family", func() error {
			_, err := s.RegisterTaskDefinition(ctx, webTaskDef(""))
			return err
		}, ecserr.InvalidArgument, "family"},
		{"register with duplicate tags", func() error {
			r := webTaskDef("web")
			r.Tags = []*berthv1.Tag{{Key: "a"}, {Key: "a"}}
			_, err := s.RegisterTaskDefinition(ctx, r)
			return err
		}, ecserr.InvalidArgument, "tags[1].key: duplicate tag key"},
		{"describe without name", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{})
			return err
		}, ecserr.InvalidArgument, "taskDefinition: is required"},
		{"describe unknown family", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "nope"})
			return err
		}, ecserr.NotFound, `"nope"`},
		{"describe unknown revision", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:7"})
			return err
		}, ecserr.NotFound, "web:7 does not exist"},
		{"describe bad revision", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:x"})
			return err
		}, ecserr.InvalidArgument, "taskDefinition:"},
		{"describe with a cluster ARN", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "arn:aws:ecs:us-east-1:0:cluster/web"})
			return err
		}, ecserr.InvalidArgument, "not a task definition ARN"},
		{"describe with bad include", func() error {
			_, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web", Include: []string{"ALL"}})
			return err
		}, ecserr.InvalidArgument, "include"},
		{"list with bad status", func() error {
			_, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{Status: "DELETED"})
			return err
		}, ecserr.InvalidArgument, "status: must be ACTIVE, INACTIVE or DELETE_IN_PROGRESS"},
		{"list with bad sort", func() error {
			_, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{Sort: "UP"})
			return err
		}, ecserr.InvalidArgument, "sort: must be ASC or DESC"},
		{"list with too many results", func() error {
			_, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{MaxResults: 101})
			return err
		}, ecserr.InvalidArgument, "maxResults: must be between 1 and 100"},
		{"list with bad token", func() error {
			_, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{NextToken: "!!"})
			return err
		}, ecserr.InvalidArgument, "nextToken"},
		{"list with bad family", func() error {
			_, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{FamilyPrefix: "a b"})
			return err
		}, ecserr.InvalidArgument, "familyPrefix"},
		{"families with bad status", func() error {
			_, err := s.ListTaskDefinitionFamilies(ctx, &berthv1.ListTaskDefinitionFamiliesRequest{Status: "X"})
			return err
		}, ecserr.InvalidArgument, "status: must be ACTIVE, INACTIVE or ALL"},
		{"deregister family only", func() error {
			_, err := s.DeregisterTaskDefinition(ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web"})
			return err
		}, ecserr.InvalidArgument, "name a revision"},
		{"deregister unknown", func() error {
			_, err := s.DeregisterTaskDefinition(ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web:9"})
			return err
		}, ecserr.NotFound, "web:9"},
		{"create cluster with bad name", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "my cluster"})
			return err
		}, ecserr.InvalidArgument, "clusterName"},
		{"create cluster with too many tags", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c", Tags: tooManyTags})
			return err
		}, ecserr.InvalidArgument, "tags: at most 50"},
		{"create cluster with bad setting", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c", Settings: []*berthv1.ClusterSetting{{Name: "containerInsights", Value: "on"}}})
			return err
		}, ecserr.InvalidArgument, "settings[0].value"},
		{"create cluster with unknown capacity provider", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c", CapacityProviders: []string{"mine"}})
			return err
		}, ecserr.InvalidArgument, `capacityProviders[0]: capacity provider "mine" does not exist`},
		{"create cluster with two bases", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c", CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
				DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
					{CapacityProvider: "FARGATE", Base: 1}, {CapacityProvider: "FARGATE_SPOT", Base: 2}}})
			return err
		}, ecserr.InvalidArgument, "only one capacity provider may have a base"},
		{"create cluster with strategy outside its providers", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c",
				DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE", Weight: 1}}})
			return err
		}, ecserr.InvalidArgument, "defaultCapacityProviderStrategy[0].capacityProvider"},
		{"describe too many clusters", func() error {
			_, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: make([]string, 101)})
			return err
		}, ecserr.InvalidArgument, "at most 100"},
		{"describe cluster with bad ARN", func() error {
			_, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"arn:aws:ecs:r:a:service/x/y"}})
			return err
		}, ecserr.InvalidArgument, "clusters[0]"},
		{"delete cluster without name", func() error {
			_, err := s.DeleteCluster(ctx, &berthv1.DeleteClusterRequest{})
			return err
		}, ecserr.InvalidArgument, "cluster: is required"},
		{"delete unknown cluster", func() error {
			_, err := s.DeleteCluster(ctx, &berthv1.DeleteClusterRequest{Cluster: "nope"})
			return err
		}, ecserr.NotFound, `"nope"`},
		{"capacity provider without name", func() error {
			_, err := s.CreateCapacityProvider(ctx, &berthv1.CreateCapacityProviderRequest{})
			return err
		}, ecserr.InvalidArgument, "name"},
	})
}
