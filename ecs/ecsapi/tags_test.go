package ecsapi

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func tagsOf(t *testing.T, s *Server, resourceArn string) string {
	t.Helper()
	res, err := s.ListTagsForResource(ctx, &berthv1.ListTagsForResourceRequest{ResourceArn: resourceArn})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", resourceArn, err)
	}
	var kv []string
	for _, tg := range res.Tags {
		kv = append(kv, tg.Key+"="+tg.Value)
	}
	return strings.Join(kv, ",")
}

func manyTags(n int, prefix string) []*berthv1.Tag {
	out := make([]*berthv1.Tag, n)
	for i := range out {
		out[i] = &berthv1.Tag{Key: fmt.Sprintf("%s%d", prefix, i), Value: "v"}
	}
	return out
}

// taggable makes one resource of every taggable type and returns their ARNs.
func taggable(t *testing.T) (*Server, map[string]string) {
	t.Helper()
	s := threeAZs(t)
	svc, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "api", TaskDefinition: "web", DesiredCount: proto.Int32(0)})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	mustCreateProvider(t, s, providerReq("ec2", "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/asg", nil))
	return s, map[string]string{
		"cluster":            "arn:aws:ecs:us-east-1:000000000000:cluster/default",
		"service":            svc.Service.ServiceArn,
		"task":               run.Tasks[0].TaskArn,
		"task-definition":    "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
		"container-instance": run.Tasks[0].ContainerInstanceArn,
		"capacity-provider":  "arn:aws:ecs:us-east-1:000000000000:capacity-provider/ec2",
	}
}

func TestTagUntagListEveryResourceType(t *testing.T) {
	s, arns := taggable(t)
	for typ, a := range arns {
		t.Run(typ, func(t *testing.T) {
			if got := tagsOf(t, s, a); got != "" {
				t.Fatalf("new %s has tags %q", typ, got)
			}
			if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: []*berthv1.Tag{
				{Key: "team", Value: "a"}, {Key: "env", Value: "dev"}, {Key: "empty"}}}); err != nil {
				t.Fatal(err)
			}
			// An existing key takes the new value in its place.
			if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: []*berthv1.Tag{
				{Key: "env", Value: "prod"}, {Key: "cost-center", Value: "42"}}}); err != nil {
				t.Fatal(err)
			}
			if got := tagsOf(t, s, a); got != "team=a,env=prod,empty=,cost-center=42" {
				t.Fatalf("tags after TagResource = %q", got)
			}
			// Keys the resource lacks are ignored.
			if _, err := s.UntagResource(ctx, &berthv1.UntagResourceRequest{ResourceArn: a, TagKeys: []string{"team", "nope"}}); err != nil {
				t.Fatal(err)
			}
			if got := tagsOf(t, s, a); got != "env=prod,empty=,cost-center=42" {
				t.Fatalf("tags after UntagResource = %q", got)
			}
		})
	}
	// The describe operations show the same tags.
	cl, _ := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Include: []string{"TAGS"}})
	if len(cl.Clusters) != 1 || len(cl.Clusters[0].Tags) != 3 {
		t.Fatalf("DescribeClusters tags: %v", cl)
	}
	td, _ := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:1", Include: []string{"TAGS"}})
	if len(td.Tags) != 3 {
		t.Fatalf("DescribeTaskDefinition tags: %v", td.Tags)
	}
	svc, _ := s.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"api"}, Include: []string{"TAGS"}})
	if len(svc.Services) != 1 || len(svc.Services[0].Tags) != 3 {
		t.Fatalf("DescribeServices tags: %v", svc)
	}
	// The service's new version does not stop UpdateService.
	if _, err := s.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: "api", DesiredCount: proto.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(t, s, arns["service"]); got != "env=prod,empty=,cost-center=42" {
		t.Fatalf("service tags after UpdateService = %q", got)
	}
}

func TestTagsFiftyAtMost(t *testing.T) {
	s, arns := taggable(t)
	a := arns["cluster"]
	if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: manyTags(40, "a")}); err != nil {
		t.Fatal(err)
	}
	// Replacing values does not add tags: 40 stay 40, plus 10 new is 50.
	if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: append(manyTags(40, "a"), manyTags(10, "b")...)}); err != nil {
		t.Fatal(err)
	}
	before := s.store.Revision()
	_, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: manyTags(1, "c")})
	wantErr(t, err, ecserr.InvalidArgument, "at most 50 tags")
	if x := ecserr.Exception(ecserr.From(err)); x != ecserr.InvalidParameterException {
		t.Fatalf("exception %s", x)
	}
	if s.store.Revision() != before || strings.Count(tagsOf(t, s, a), "=") != 50 {
		t.Fatal("the refused TagResource changed the tags")
	}
	// After removing some there is room again.
	if _, err := s.UntagResource(ctx, &berthv1.UntagResourceRequest{ResourceArn: a, TagKeys: []string{"a0", "a1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: manyTags(2, "c")}); err != nil {
		t.Fatal(err)
	}
}

func TestTagsBadInput(t *testing.T) {
	s, arns := taggable(t)
	cluster := arns["cluster"]
	if _, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: cluster, Tags: []*berthv1.Tag{{Key: "keep", Value: "me"}}}); err != nil {
		t.Fatal(err)
	}
	tag := func(a string, tags ...*berthv1.Tag) func() error {
		return func() error {
			_, err := s.TagResource(ctx, &berthv1.TagResourceRequest{ResourceArn: a, Tags: tags})
			return err
		}
	}
	untag := func(a string, keys ...string) func() error {
		return func() error {
			_, err := s.UntagResource(ctx, &berthv1.UntagResourceRequest{ResourceArn: a, TagKeys: keys})
			return err
		}
	}
	list := func(a string) func() error {
		return func() error {
			_, err := s.ListTagsForResource(ctx, &berthv1.ListTagsForResourceRequest{ResourceArn: a})
			return err
		}
	}
	const acct = "arn:aws:ecs:us-east-1:000000000000:"
	tests := []struct {
		rejection
		exception string
	}{
		{rejection{"51 tags", tag(cluster, manyTags(51, "k")...), ecserr.InvalidArgument, "tags: at most 50 tags"}, ecserr.InvalidParameterException},
		{rejection{"aws: key", tag(cluster, &berthv1.Tag{Key: "aws:owner", Value: "x"}), ecserr.InvalidArgument, "tags[0].key"}, ecserr.InvalidParameterException},
		{rejection{"AwS: key", tag(cluster, &berthv1.Tag{Key: "AwS:owner"}), ecserr.InvalidArgument, "reserved"}, ecserr.InvalidParameterException},
		{rejection{"aws: value", tag(cluster, &berthv1.Tag{Key: "owner", Value: "aws:me"}), ecserr.InvalidArgument, "tags[0].value"}, ecserr.InvalidParameterException},
		{rejection{"empty key", tag(cluster, &berthv1.Tag{Value: "x"}), ecserr.InvalidArgument, "tags[0].key: must be 1-128"}, ecserr.InvalidParameterException},
		{rejection{"long key", tag(cluster, &berthv1.Tag{Key: strings.Repeat("k", 129)}), ecserr.InvalidArgument, "tags[0].key: must be 1-128"}, ecserr.InvalidParameterException},
		{rejection{"long value", tag(cluster, &berthv1.Tag{Key: "k", Value: strings.Repeat("v", 257)}), ecserr.InvalidArgument, "tags[0].value: must be 0-256"}, ecserr.InvalidParameterException},
		{rejection{"bad character", tag(cluster, &berthv1.Tag{Key: "a*b"}), ecserr.InvalidArgument, "tags[0].key"}, ecserr.InvalidParameterException},
		{rejection{"duplicate key", tag(cluster, &berthv1.Tag{Key: "a"}, &berthv1.Tag{Key: "a"}), ecserr.InvalidArgument, "tags[1].key: duplicate"}, ecserr.InvalidParameterException},
		{rejection{"no ARN", tag(""), ecserr.InvalidArgument, "resourceArn: is required"}, ecserr.InvalidParameterException},
		{rejection{"malformed ARN", tag("cluster/default"), ecserr.InvalidArgument, "resourceArn"}, ecserr.InvalidParameterException},
		{rejection{"not ECS", tag("arn:aws:s3:::bucket"), ecserr.InvalidArgument, "resourceArn"}, ecserr.InvalidParameterException},
		{rejection{"other account", tag("arn:aws:ecs:us-east-1:111111111111:cluster/default"), ecserr.InvalidArgument, "resourceArn"}, ecserr.InvalidParameterException},
		{rejection{"unknown resource type", tag(acct + "container/default/t/c"), ecserr.InvalidArgument, `resource type "container" cannot be tagged`}, ecserr.InvalidParameterException},
		{rejection{"short service ARN", tag(acct + "service/api"), ecserr.InvalidArgument, "Long arn format must be used"}, ecserr.InvalidParameterException},
		{rejection{"task definition without revision", tag(acct + "task-definition/web"), ecserr.InvalidArgument, "has no revision"}, ecserr.InvalidParameterException},
		{rejection{"built-in provider", tag(acct + "capacity-provider/FARGATE"), ecserr.InvalidArgument, "built-in"}, ecserr.InvalidParameterException},
		{rejection{"unknown cluster", tag(acct + "cluster/nope"), ecserr.NotFound, `cluster "nope" not found`}, ecserr.ClusterNotFoundException},
		{rejection{"service of unknown cluster", tag(acct + "service/nope/api"), ecserr.NotFound, `cluster "nope" not found`}, ecserr.ClusterNotFoundException},
		{rejection{"unknown service", tag(acct + "service/default/nope"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"unknown task", tag(acct + "task/default/0123"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"unknown task definition", tag(acct + "task-definition/web:9"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"unknown instance", tag(acct + "container-instance/default/zz"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"unknown provider", tag(acct + "capacity-provider/nope"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"untag aws: key", untag(cluster, "aws:x"), ecserr.InvalidArgument, "tagKeys[0]"}, ecserr.InvalidParameterException},
		{rejection{"untag empty key", untag(cluster, ""), ecserr.InvalidArgument, "tagKeys[0]: must be 1-128"}, ecserr.InvalidParameterException},
		{rejection{"untag 51 keys", untag(cluster, strings.Split(strings.Repeat("k,", 51)[:101], ",")...), ecserr.InvalidArgument, "tagKeys: at most 50"}, ecserr.InvalidParameterException},
		{rejection{"untag unknown resource", untag(acct+"service/default/nope", "k"), ecserr.NotFound, "resource could not be found"}, ecserr.ResourceNotFoundException},
		{rejection{"list unknown cluster", list(acct + "cluster/nope"), ecserr.NotFound, `cluster "nope" not found`}, ecserr.ClusterNotFoundException},
		{rejection{"list unknown resource type", list(acct + "container/x"), ecserr.InvalidArgument, "cannot be tagged"}, ecserr.InvalidParameterException},
	}
	var rs []rejection
	for _, tt := range tests {
		rs = append(rs, tt.rejection)
	}
	rejections(t, s, rs)
	for _, tt := range tests {
		if x := ecserr.Exception(ecserr.From(tt.call())); x != tt.exception {
			t.Errorf("%s: exception %s, want %s", tt.name, x, tt.exception)
		}
	}
	if got := tagsOf(t, s, cluster); got != "keep=me" {
		t.Fatalf("cluster tags after bad input = %q", got)
	}
}
