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

func TestSDKUpdateCluster(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()

	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{
		ClusterName:            aws.String("prod"),
		ServiceConnectDefaults: &types.ClusterServiceConnectDefaultsRequest{Namespace: aws.String("prod-ns")},
		Configuration: &types.ClusterConfiguration{ManagedStorageConfiguration: &types.ManagedStorageConfiguration{
			FargateEphemeralStorageKmsKeyId: aws.String("key-1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := client.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("prod"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := set.Cluster.Settings; len(s) != 1 || aws.ToString(s[0].Value) != "enhanced" {
		t.Fatalf("UpdateClusterSettings: %+v", set.Cluster)
	}
	up, err := client.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("prod"),
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{
			KmsKeyId: aws.String("key-2"),
			Logging:  types.ExecuteCommandLoggingOverride,
			LogConfiguration: &types.ExecuteCommandLogConfiguration{
				S3BucketName: aws.String("logs"), S3KeyPrefix: aws.String("exec/"), S3EncryptionEnabled: true},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	c := up.Cluster
	e := c.Configuration.ExecuteCommandConfiguration
	if aws.ToString(c.ClusterArn) != "arn:aws:ecs:us-east-1:000000000000:cluster/prod" || e.Logging != types.ExecuteCommandLoggingOverride ||
		aws.ToString(e.KmsKeyId) != "key-2" || !e.LogConfiguration.S3EncryptionEnabled || aws.ToString(e.LogConfiguration.S3KeyPrefix) != "exec/" ||
		aws.ToString(c.Configuration.ManagedStorageConfiguration.FargateEphemeralStorageKmsKeyId) != "key-1" ||
		aws.ToString(c.ServiceConnectDefaults.Namespace) != "prod-ns" {
		t.Fatalf("UpdateCluster: %+v", c)
	}
	d, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"},
		Include: []types.ClusterField{types.ClusterFieldSettings, types.ClusterFieldConfigurations}})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Clusters[0]; aws.ToString(c.Settings[0].Value) != "enhanced" || c.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingOverride {
		t.Fatalf("DescribeClusters: %+v", c)
	}

	_, err = client.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("prod"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("on")}}})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "settings[0].value") {
		t.Fatalf("bad setting value: %T %v, want InvalidParameterException naming settings[0].value", err, err)
	}
	_, err = client.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("prod"),
		Configuration: &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingOverride}}})
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "logConfiguration") {
		t.Fatalf("OVERRIDE without logConfiguration: %T %v, want InvalidParameterException naming logConfiguration", err, err)
	}
	_, err = client.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("nope")})
	var noCluster *types.ClusterNotFoundException
	if !errors.As(err, &noCluster) || aws.ToString(noCluster.Message) != "Cluster not found." {
		t.Fatalf("unknown cluster: %T %v, want ClusterNotFoundException: Cluster not found.", err, err)
	}
}
