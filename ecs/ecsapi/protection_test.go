package ecsapi

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func TestTaskProtectionBadInput(t *testing.T) {
	s := newServer(t)
	task := "0123456789abcdef0123456789abcdef"
	many := make([]string, 101)
	for i := range many {
		many[i] = task
	}
	rejections(t, s, []rejection{
		{"no tasks", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{ProtectionEnabled: proto.Bool(true)})
			return err
		}, ecserr.InvalidArgument, "tasks: give between 1 and 10"},
		{"eleven tasks to protect", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{Tasks: many[:11], ProtectionEnabled: proto.Bool(true)})
			return err
		}, ecserr.InvalidArgument, "tasks: give between 1 and 10,"},
		{"101 tasks to read", func() error {
			_, err := s.GetTaskProtection(ctx, &berthv1.GetTaskProtectionRequest{Tasks: many})
			return err
		}, ecserr.InvalidArgument, "tasks: give between 1 and 100,"},
		{"no minutes", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{Tasks: []string{task}, ProtectionEnabled: proto.Bool(true), ExpiresInMinutes: proto.Int32(0)})
			return err
		}, ecserr.InvalidArgument, "expiresInMinutes: must be between 1 and 2880"},
		{"no protectionEnabled", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{Tasks: []string{task}})
			return err
		}, ecserr.InvalidArgument, "protectionEnabled: is required"},
		{"minutes without protection", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{Tasks: []string{task}, ProtectionEnabled: proto.Bool(false), ExpiresInMinutes: proto.Int32(5)})
			return err
		}, ecserr.InvalidArgument, "expiresInMinutes: can only be given with protectionEnabled true"},
		{"a task of another cluster", func() error {
			_, err := s.UpdateTaskProtection(ctx, &berthv1.UpdateTaskProtectionRequest{Tasks: []string{"arn:aws:ecs:us-east-1:000000000000:task/other/" + task}, ProtectionEnabled: proto.Bool(true)})
			return err
		}, ecserr.InvalidArgument, "tasks[0]"},
		{"an unknown cluster", func() error {
			_, err := s.GetTaskProtection(ctx, &berthv1.GetTaskProtectionRequest{Cluster: "nope", Tasks: []string{task}})
			return err
		}, ecserr.NotFound, ""},
	})
	res, err := s.GetTaskProtection(ctx, &berthv1.GetTaskProtectionRequest{Tasks: []string{task}})
	if err != nil || len(res.Failures) != 1 || res.Failures[0].Reason != "MISSING" || len(res.ProtectedTasks) != 0 {
		t.Fatalf("a missing task is a failure: %v, %v", res, err)
	}
}

func TestServiceDeploymentsBadInput(t *testing.T) {
	s := newServer(t)
	mustRegister(t, s, "web")
	if _, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	rejections(t, s, []rejection{
		{"no service", func() error {
			_, err := s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{})
			return err
		}, ecserr.InvalidArgument, "service: is required"},
		{"an unknown service", func() error {
			_, err := s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{Service: "nope"})
			return err
		}, ecserr.NotFound, ""},
		{"maxResults 101", func() error {
			_, err := s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web", MaxResults: 101})
			return err
		}, ecserr.InvalidArgument, "maxResults: must be between 1 and 100"},
		{"a bad token", func() error {
			_, err := s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web", NextToken: "!"})
			return err
		}, ecserr.InvalidArgument, "nextToken"},
		{"no ARNs", func() error {
			_, err := s.DescribeServiceDeployments(ctx, &berthv1.DescribeServiceDeploymentsRequest{})
			return err
		}, ecserr.InvalidArgument, "serviceDeploymentArns: give between 1 and 20"},
		{"a revision ARN for a deployment", func() error {
			_, err := s.DescribeServiceDeployments(ctx, &berthv1.DescribeServiceDeploymentsRequest{
				ServiceDeploymentArns: []string{"arn:aws:ecs:us-east-1:000000000000:service-revision/default/web/1"}})
			return err
		}, ecserr.InvalidArgument, "serviceDeploymentArns[0]"},
	})
	list, err := s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web", CreatedAt: &berthv1.CreatedAt{Before: 1}})
	if err != nil || len(list.ServiceDeployments) != 0 {
		t.Fatalf("created before 1970: %v, %v", list, err)
	}
	list, err = s.ListServiceDeployments(ctx, &berthv1.ListServiceDeploymentsRequest{Service: "arn:aws:ecs:us-east-1:000000000000:service/default/web"})
	if err != nil || len(list.ServiceDeployments) != 1 || list.ServiceDeployments[0].Status != "IN_PROGRESS" {
		t.Fatalf("by ARN: %v, %v", list, err)
	}
	rev, err := s.DescribeServiceRevisions(ctx, &berthv1.DescribeServiceRevisionsRequest{ServiceRevisionArns: []string{
		list.ServiceDeployments[0].TargetServiceRevisionArn, "arn:aws:ecs:us-east-1:000000000000:service-revision/default/gone/1"}})
	if err != nil || len(rev.ServiceRevisions) != 1 || len(rev.Failures) != 1 || rev.Failures[0].Reason != "MISSING" {
		t.Fatalf("describe revisions: %v, %v", rev, err)
	}
}
