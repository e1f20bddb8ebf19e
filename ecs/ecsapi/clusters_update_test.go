package ecsapi

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func insights(v string) []*berthv1.ClusterSetting {
	return []*berthv1.ClusterSetting{{Name: "containerInsights", Value: v}}
}

func execConf(logging string, lc *berthv1.ExecuteCommandLogConfiguration) *berthv1.ClusterConfiguration {
	return &berthv1.ClusterConfiguration{ExecuteCommandConfiguration: &berthv1.ExecuteCommandConfiguration{Logging: logging, LogConfiguration: lc}}
}

func TestUpdateCluster(t *testing.T) {
	s := newServer(t)
	created, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{
		ClusterName:            "prod",
		Settings:               insights("disabled"),
		Configuration:          execConf("NONE", nil),
		ServiceConnectDefaults: &berthv1.ClusterServiceConnectDefaults{Namespace: "prod-ns"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := created.Cluster; c.Configuration.GetExecuteCommandConfiguration().GetLogging() != "NONE" ||
		c.ServiceConnectDefaults.GetNamespace() != "prod-ns" || c.Settings[0].Value != "disabled" {
		t.Fatalf("CreateCluster dropped a member: %v", c)
	}

	res, err := s.UpdateClusterSettings(ctx, &berthv1.UpdateClusterSettingsRequest{Cluster: "prod", Settings: insights("enhanced")})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Cluster; len(c.Settings) != 1 || c.Settings[0].Value != "enhanced" || c.ClusterArn != "arn:aws:ecs:us-east-1:000000000000:cluster/prod" ||
		c.ActiveServicesCount == nil {
		t.Fatalf("UpdateClusterSettings: %v", c)
	}

	storage := &berthv1.ManagedStorageConfiguration{KmsKeyId: "k1", FargateEphemeralStorageKmsKeyId: "k2"}
	lc := &berthv1.ExecuteCommandLogConfiguration{CloudWatchLogGroupName: "exec", CloudWatchEncryptionEnabled: proto.Bool(true)}
	up, err := s.UpdateCluster(ctx, &berthv1.UpdateClusterRequest{
		Cluster:       "arn:aws:ecs:us-east-1:000000000000:cluster/prod",
		Settings:      insights("enabled"),
		Configuration: &berthv1.ClusterConfiguration{ManagedStorageConfiguration: storage},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := up.Cluster
	if c.Settings[0].Value != "enabled" || !proto.Equal(c.Configuration.ManagedStorageConfiguration, storage) ||
		c.Configuration.ExecuteCommandConfiguration.GetLogging() != "NONE" || c.ServiceConnectDefaults.GetNamespace() != "prod-ns" {
		t.Fatalf("UpdateCluster with managed storage: %v", c)
	}
	up, err = s.UpdateCluster(ctx, &berthv1.UpdateClusterRequest{
		Cluster:                "prod",
		Configuration:          execConf("OVERRIDE", lc),
		ServiceConnectDefaults: &berthv1.ClusterServiceConnectDefaults{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := up.Cluster; !proto.Equal(c.Configuration.ExecuteCommandConfiguration.LogConfiguration, lc) || c.ServiceConnectDefaults != nil ||
		c.Settings[0].Value != "enabled" || !proto.Equal(c.Configuration.ManagedStorageConfiguration, storage) {
		t.Fatalf("UpdateCluster with OVERRIDE logging, removing the namespace: %v", c)
	}

	// DescribeClusters shows settings and configuration when asked.
	d, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"prod"}, Include: []string{"SETTINGS", "CONFIGURATIONS"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Clusters[0]; c.Settings[0].Value != "enabled" || !proto.Equal(c.Configuration, up.Cluster.Configuration) {
		t.Fatalf("DescribeClusters: %v", c)
	}
	d, err = s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Clusters[0]; c.Settings != nil || c.Configuration != nil {
		t.Fatalf("DescribeClusters without include: %v", c)
	}
}

func TestUpdateClusterBadInput(t *testing.T) {
	s := newServer(t)
	if _, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCluster(ctx, &berthv1.DeleteClusterRequest{Cluster: "gone"}); err != nil {
		t.Fatal(err)
	}
	update := func(req *berthv1.UpdateClusterRequest) func() error {
		return func() error { _, err := s.UpdateCluster(ctx, req); return err }
	}
	settings := func(req *berthv1.UpdateClusterSettingsRequest) func() error {
		return func() error { _, err := s.UpdateClusterSettings(ctx, req); return err }
	}
	create := func(req *berthv1.CreateClusterRequest) func() error {
		return func() error { _, err := s.CreateCluster(ctx, req); return err }
	}
	lc := &berthv1.ExecuteCommandLogConfiguration{S3BucketName: "b"}
	rejections(t, s, []rejection{
		{"no cluster", update(&berthv1.UpdateClusterRequest{}), ecserr.InvalidArgument, "cluster: is required"},
		{"missing cluster", update(&berthv1.UpdateClusterRequest{Cluster: "nope"}), ecserr.NotFound, "Cluster not found."},
		{"deleted cluster", settings(&berthv1.UpdateClusterSettingsRequest{Cluster: "gone", Settings: insights("enabled")}), ecserr.NotFound, "Cluster not found."},
		{"bad cluster ARN", update(&berthv1.UpdateClusterRequest{Cluster: "arn:aws:ecs:us-east-1:000000000000:service/x"}), ecserr.InvalidArgument, "cluster: "},
		{"no settings", settings(&berthv1.UpdateClusterSettingsRequest{Cluster: "default"}), ecserr.InvalidArgument, "settings: is required"},
		{"bad setting name", settings(&berthv1.UpdateClusterSettingsRequest{Cluster: "default", Settings: []*berthv1.ClusterSetting{{Name: "insights", Value: "enabled"}}}),
			ecserr.InvalidArgument, `settings[0].name: must be containerInsights, not "insights"`},
		{"bad setting value", settings(&berthv1.UpdateClusterSettingsRequest{Cluster: "default", Settings: insights("on")}),
			ecserr.InvalidArgument, `settings[0].value: must be enabled, disabled or enhanced, not "on"`},
		{"setting twice", update(&berthv1.UpdateClusterRequest{Cluster: "default", Settings: append(insights("enabled"), insights("disabled")...)}),
			ecserr.InvalidArgument, `settings[1].name: "containerInsights" is given twice`},
		{"bad logging", update(&berthv1.UpdateClusterRequest{Cluster: "default", Configuration: execConf("ALL", nil)}),
			ecserr.InvalidArgument, `configuration.executeCommandConfiguration.logging: must be NONE, DEFAULT or OVERRIDE, not "ALL"`},
		{"OVERRIDE without logConfiguration", update(&berthv1.UpdateClusterRequest{Cluster: "default", Configuration: execConf("OVERRIDE", nil)}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration: is required when logging is OVERRIDE"},
		{"OVERRIDE to nowhere", update(&berthv1.UpdateClusterRequest{Cluster: "default", Configuration: execConf("OVERRIDE", &berthv1.ExecuteCommandLogConfiguration{})}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration: must name"},
		{"DEFAULT with logConfiguration", update(&berthv1.UpdateClusterRequest{Cluster: "default", Configuration: execConf("DEFAULT", lc)}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration: is allowed only when logging is OVERRIDE"},
		{"unset logging with logConfiguration", update(&berthv1.UpdateClusterRequest{Cluster: "default", Configuration: execConf("", lc)}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration: is allowed only"},
		{"bad namespace", update(&berthv1.UpdateClusterRequest{Cluster: "default", ServiceConnectDefaults: &berthv1.ClusterServiceConnectDefaults{Namespace: "a/b"}}),
			ecserr.InvalidArgument, "serviceConnectDefaults.namespace: "},
		{"a bad part refuses the whole update", update(&berthv1.UpdateClusterRequest{Cluster: "default", Settings: insights("enabled"), Configuration: execConf("NONE", lc)}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration"},
		{"CreateCluster: bad configuration", create(&berthv1.CreateClusterRequest{ClusterName: "new", Configuration: execConf("OVERRIDE", nil)}),
			ecserr.InvalidArgument, "configuration.executeCommandConfiguration.logConfiguration: is required"},
		{"CreateCluster: bad namespace", create(&berthv1.CreateClusterRequest{ClusterName: "new", ServiceConnectDefaults: &berthv1.ClusterServiceConnectDefaults{Namespace: `x"y`}}),
			ecserr.InvalidArgument, "serviceConnectDefaults.namespace: "},
	})
	cl, err := s.store.Cluster("default")
	if err != nil || cl.Settings != nil || cl.Configuration != nil || cl.ServiceConnectDefaults != nil {
		t.Fatalf("after refusals the default cluster is %v, %v", cl, err)
	}
}
