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

func TestSDKAttributesAndCapacityProviders(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("attrs")}); err != nil {
		t.Fatal(err)
	}

	list, err := client.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("attrs"), TargetType: types.TargetTypeContainerInstance})
	if err != nil || len(list.Attributes) != 0 || list.NextToken != nil {
		t.Fatalf("list attributes of a cluster without instances: %+v, %v", list, err)
	}
	_, err = client.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("attrs"), Attributes: []types.Attribute{
		{Name: aws.String("stack"), TargetId: aws.String("0123456789abcdef")}}})
	var noTarget *types.TargetNotFoundException
	if !errors.As(err, &noTarget) {
		t.Fatalf("delete attributes of a missing instance: %v (%T), want TargetNotFoundException", err, err)
	}
	_, err = client.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("nope"), TargetType: types.TargetTypeContainerInstance})
	var noCluster *types.ClusterNotFoundException
	if !errors.As(err, &noCluster) {
		t.Fatalf("list attributes of an unknown cluster: %v (%T)", err, err)
	}

	created, err := client.CreateCapacityProvider(ctx, &ecs.CreateCapacityProviderInput{Name: aws.String("fleet"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String("fleet-group")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("attrs"),
		CapacityProviders: []string{"fleet"}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	upd, err := client.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String("fleet"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{
			Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(60)}}})
	if err != nil {
		t.Fatal(err)
	}
	got := upd.CapacityProvider
	if got.UpdateStatus != types.CapacityProviderUpdateStatusUpdateComplete || aws.ToInt32(got.AutoScalingGroupProvider.ManagedScaling.TargetCapacity) != 60 ||
		aws.ToString(got.AutoScalingGroupProvider.AutoScalingGroupArn) != "fleet-group" {
		t.Fatalf("updated: %+v", got)
	}
	_, err = client.UpdateCapacityProvider(ctx, &ecs.UpdateCapacityProviderInput{Name: aws.String("fleet"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProviderUpdate{ManagedScaling: &types.ManagedScaling{TargetCapacity: aws.Int32(0), MinimumScalingStepSize: aws.Int32(20000)}}})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "minimumScalingStepSize") {
		t.Fatalf("bad update: %v (%T)", err, err)
	}

	_, err = client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("fleet")})
	var clientErr *types.ClientException
	if !errors.As(err, &clientErr) || !strings.Contains(err.Error(), "associated with cluster attrs") {
		t.Fatalf("delete a provider of a cluster: %v (%T), want ClientException", err, err)
	}
	_, err = client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("FARGATE")})
	if !errors.As(err, &invalid) {
		t.Fatalf("delete FARGATE: %v (%T), want InvalidParameterException", err, err)
	}
	if _, err := client.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String("attrs"),
		CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	del, err := client.DeleteCapacityProvider(ctx, &ecs.DeleteCapacityProviderInput{CapacityProvider: created.CapacityProvider.CapacityProviderArn})
	if err != nil {
		t.Fatal(err)
	}
	if d := del.CapacityProvider; d.Status != types.CapacityProviderStatusInactive || d.UpdateStatus != types.CapacityProviderUpdateStatusDeleteComplete ||
		aws.ToString(d.Name) != "fleet" {
		t.Fatalf("deleted: %+v", d)
	}
	desc, err := client.DescribeCapacityProviders(ctx, &ecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"fleet"}})
	if err != nil || len(desc.CapacityProviders) != 0 || len(desc.Failures) != 1 {
		t.Fatalf("describe a deleted provider: %+v, %v", desc, err)
	}
}
