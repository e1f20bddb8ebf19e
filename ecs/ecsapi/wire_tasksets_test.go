package ecsapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The task set operations through aws-sdk-go-v2's ECS client: an EXTERNAL
// service, its task sets created, described, scaled, made primary and
// deleted, and the bad input ECS names.
func TestSDKTaskSets(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}}); err != nil {
		t.Fatal(err)
	}
	svc, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("ext"), DesiredCount: aws.Int32(0),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Service.DeploymentController.Type != types.DeploymentControllerTypeExternal || len(svc.Service.Deployments) != 0 {
		t.Fatalf("service: %+v", svc.Service)
	}
	created, err := client.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Service: aws.String("ext"), Cluster: aws.String("default"),
		TaskDefinition: aws.String("web"), ExternalId: aws.String("deploy-1"),
		Scale: &types.Scale{Value: 50, Unit: types.ScaleUnitPercent}, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := created.TaskSet
	if !strings.HasPrefix(aws.ToString(ts.Id), "ecs-svc/") || aws.ToString(ts.Status) != "ACTIVE" || ts.Scale.Value != 50 ||
		ts.Scale.Unit != types.ScaleUnitPercent || ts.ComputedDesiredCount != 0 || aws.ToString(ts.ExternalId) != "deploy-1" ||
		aws.ToString(ts.TaskDefinition) != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" || ts.CreatedAt == nil {
		t.Fatalf("created: %+v", ts)
	}
	desc, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("default"), Service: aws.String("ext"),
		TaskSets: []string{aws.ToString(ts.TaskSetArn), "ecs-svc/1"}, Include: []types.TaskSetField{types.TaskSetFieldTags}})
	if err != nil || len(desc.TaskSets) != 1 || len(desc.TaskSets[0].Tags) != 1 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe: %+v, %v", desc, err)
	}
	upd, err := client.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String("default"), Service: aws.String("ext"),
		TaskSet: ts.Id, Scale: &types.Scale{Value: 100, Unit: types.ScaleUnitPercent}})
	if err != nil || upd.TaskSet.Scale.Value != 100 {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	prim, err := client.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("default"),
		Service: aws.String("ext"), PrimaryTaskSet: ts.TaskSetArn})
	if err != nil || aws.ToString(prim.TaskSet.Status) != "PRIMARY" {
		t.Fatalf("primary: %+v, %v", prim, err)
	}
	services, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"ext"}})
	if err != nil || len(services.Services[0].TaskSets) != 1 || aws.ToString(services.Services[0].TaskDefinition) != aws.ToString(ts.TaskDefinition) {
		t.Fatalf("describe services: %+v, %v", services, err)
	}

	_, err = client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("default"), Service: aws.String("ext"), TaskSet: ts.Id})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || invalid.ErrorMessage() != "Primary TaskSet cannot be deleted" {
		t.Fatalf("delete the primary: %v (%T)", err, err)
	}
	del, err := client.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String("default"), Service: aws.String("ext"), TaskSet: ts.Id, Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.TaskSet.Status) != "DRAINING" {
		t.Fatalf("delete with force: %+v, %v", del, err)
	}
	_, err = client.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String("default"), Service: aws.String("ext"),
		TaskSet: aws.String("ecs-svc/1"), Scale: &types.Scale{Value: 1, Unit: types.ScaleUnitPercent}})
	var missing *types.TaskSetNotFoundException
	if !errors.As(err, &missing) {
		t.Fatalf("update a missing task set: %v (%T), want TaskSetNotFoundException", err, err)
	}

	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("rolling"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Service: aws.String("rolling"), Cluster: aws.String("default"), TaskDefinition: aws.String("web")})
	if !errors.As(err, &invalid) ||
		invalid.ErrorMessage() != "Amazon ECS only supports task set management on services configured to use external deployment controllers." {
		t.Fatalf("a task set on an ECS service: %v (%T)", err, err)
	}
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("cd"), TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}})
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "CODE_DEPLOY is not supported") {
		t.Fatalf("CODE_DEPLOY: %v (%T)", err, err)
	}
}
