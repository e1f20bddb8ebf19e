package ecsapi

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func providerReq(name, group string, ms *berthv1.ManagedScaling) *berthv1.CreateCapacityProviderRequest {
	return &berthv1.CreateCapacityProviderRequest{Name: name, AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{
		AutoScalingGroupArn: group, ManagedScaling: ms}}
}

func mustCreateProvider(t *testing.T, s *Server, req *berthv1.CreateCapacityProviderRequest) *berthv1.CapacityProvider {
	t.Helper()
	res, err := s.CreateCapacityProvider(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.CapacityProvider
}

func TestCapacityProviderBadInput(t *testing.T) {
	s := newServer(t)
	mustCreateProvider(t, s, providerReq("taken", "group-taken", nil))
	registerSized(t, s, "web", 256, 512, 0)
	create := func(req *berthv1.CreateCapacityProviderRequest) func() error {
		return func() error { _, err := s.CreateCapacityProvider(ctx, req); return err }
	}
	put := func(req *berthv1.PutClusterCapacityProvidersRequest) func() error {
		return func() error { _, err := s.PutClusterCapacityProviders(ctx, req); return err }
	}
	ms := func(f func(*berthv1.ManagedScaling)) *berthv1.ManagedScaling {
		m := &berthv1.ManagedScaling{Status: "ENABLED"}
		f(m)
		return m
	}
	item := func(p string, w, b int32) *berthv1.CapacityProviderStrategyItem {
		return &berthv1.CapacityProviderStrategyItem{CapacityProvider: p, Weight: w, Base: b}
	}
	rejections(t, s, []rejection{
		{"no name", create(providerReq("", "g", nil)), ecserr.InvalidArgument, "name: "},
		{"bad name", create(providerReq("a b", "g", nil)), ecserr.InvalidArgument, "name: "},
		{"reserved prefix", create(providerReq("ECS-mine", "g", nil)), ecserr.InvalidArgument, `name: "ECS-mine": a capacity provider name cannot begin with "ecs"`},
		{"name taken", create(providerReq("taken", "g", nil)), ecserr.InvalidArgument, `name: a capacity provider named "taken" already exists`},
		{"builtin name", create(providerReq("FARGATE", "g", nil)), ecserr.InvalidArgument, "name: "},
		{"no group provider", create(&berthv1.CreateCapacityProviderRequest{Name: "p"}), ecserr.InvalidArgument, "autoScalingGroupProvider: is required"},
		{"no group", create(providerReq("p", "", nil)), ecserr.InvalidArgument, "autoScalingGroupProvider.autoScalingGroupArn: is required"},
		{"group used", create(providerReq("p", "group-taken", nil)), ecserr.InvalidArgument, "autoScalingGroupProvider.autoScalingGroupArn: \"group-taken\" is already used by capacity provider taken"},
		{"bad status", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.Status = "ON" }))), ecserr.InvalidArgument, "managedScaling.status: must be ENABLED or DISABLED"},
		{"target 101", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.TargetCapacity = 101 }))), ecserr.InvalidArgument, "managedScaling.targetCapacity: must be between 1 and 100, got 101"},
		{"target negative", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.TargetCapacity = -1 }))), ecserr.InvalidArgument, "managedScaling.targetCapacity"},
		{"min step", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.MinimumScalingStepSize = 10001 }))), ecserr.InvalidArgument, "managedScaling.minimumScalingStepSize: must be between 1 and 10000"},
		{"max step", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.MaximumScalingStepSize = -3 }))), ecserr.InvalidArgument, "managedScaling.maximumScalingStepSize: must be between 1 and 10000, got -3"},
		{"min above max", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.MinimumScalingStepSize, m.MaximumScalingStepSize = 5, 2 }))), ecserr.InvalidArgument, "managedScaling.minimumScalingStepSize: 5 is above maximumScalingStepSize 2"},
		{"warm-up", create(providerReq("p", "g", ms(func(m *berthv1.ManagedScaling) { m.InstanceWarmupPeriod = 10001 }))), ecserr.InvalidArgument, "managedScaling.instanceWarmupPeriod"},
		{"termination protection without scaling", create(&berthv1.CreateCapacityProviderRequest{Name: "p", AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{
			AutoScalingGroupArn: "g", ManagedScaling: &berthv1.ManagedScaling{Status: "DISABLED"}, ManagedTerminationProtection: "ENABLED"}}),
			ecserr.InvalidArgument, "autoScalingGroupProvider.managedTerminationProtection"},
		{"put without cluster", put(&berthv1.PutClusterCapacityProvidersRequest{}), ecserr.InvalidArgument, "cluster: is required"},
		{"put unknown cluster", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "nope"}), ecserr.NotFound, `"nope"`},
		{"put unknown provider", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"FARGATE", "nope"}}),
			ecserr.InvalidArgument, `capacityProviders[1]: capacity provider "nope" does not exist`},
		{"put provider twice", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"taken", "taken"}}),
			ecserr.InvalidArgument, `capacityProviders[1]: "taken" is listed twice`},
		{"strategy names a provider not listed", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"taken"},
			DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("FARGATE", 1, 0)}}),
			ecserr.InvalidArgument, "defaultCapacityProviderStrategy[0].capacityProvider"},
		{"strategy mixes EC2 and Fargate", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"taken", "FARGATE"},
			DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("taken", 1, 0), item("FARGATE", 1, 0)}}),
			ecserr.InvalidArgument, "defaultCapacityProviderStrategy: a capacity provider strategy cannot mix FARGATE or FARGATE_SPOT with EC2"},
		{"strategy weight", put(&berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"taken"},
			DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("taken", 1001, 0)}}),
			ecserr.InvalidArgument, "defaultCapacityProviderStrategy[0].weight"},
		{"describe max results", func() error {
			_, err := s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{MaxResults: 11})
			return err
		}, ecserr.InvalidArgument, "maxResults: must be between 1 and 10"},
		{"describe include", func() error {
			_, err := s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{Include: []string{"STATS"}})
			return err
		}, ecserr.InvalidArgument, "include"},
		{"create cluster with unknown provider", func() error {
			_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "c", CapacityProviders: []string{"nope"}})
			return err
		}, ecserr.InvalidArgument, "capacityProviders[0]"},
		{"run task on a provider not the cluster's", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("taken", 1, 0)}})
			return err
		}, ecserr.InvalidArgument, `capacityProviderStrategy[0].capacityProvider: "taken": The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster`},
		{"run task on a provider that does not exist", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("nope", 1, 0)}})
			return err
		}, ecserr.InvalidArgument, `capacityProviderStrategy[0].capacityProvider: capacity provider "nope" does not exist`},
		{"service mixing Fargate and EC2 providers", func() error {
			_, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "mix", TaskDefinition: "web", DesiredCount: proto.Int32(1),
				CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("taken", 1, 0), item("FARGATE", 1, 0)}})
			return err
		}, ecserr.InvalidArgument, "capacityProviderStrategy: A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers"},
		{"DAEMON service on a provider", func() error {
			_, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "d", TaskDefinition: "web", SchedulingStrategy: "DAEMON",
				CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{item("taken", 1, 0)}})
			return err
		}, ecserr.InvalidArgument, "The DAEMON scheduling strategy does not support a capacity provider strategy"},
	})
}

func TestCapacityProviderDefaultsAndDescribe(t *testing.T) {
	s := newServer(t)
	got := mustCreateProvider(t, s, &berthv1.CreateCapacityProviderRequest{Name: "blue", Tags: []*berthv1.Tag{{Key: "team", Value: "a"}},
		AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: "blue-group",
			ManagedScaling: &berthv1.ManagedScaling{TargetCapacity: 80, MaximumScalingStepSize: 4}}})
	want := &berthv1.CapacityProvider{
		CapacityProviderArn: "arn:aws:ecs:us-east-1:000000000000:capacity-provider/blue", Name: "blue", Status: "ACTIVE",
		Tags: []*berthv1.Tag{{Key: "team", Value: "a"}},
		AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: "blue-group",
			ManagedScaling:               &berthv1.ManagedScaling{Status: "ENABLED", TargetCapacity: 80, MinimumScalingStepSize: 1, MaximumScalingStepSize: 4, InstanceWarmupPeriod: 300},
			ManagedTerminationProtection: "DISABLED", ManagedDraining: "ENABLED"},
	}
	if !proto.Equal(got, want) {
		t.Fatalf("created\n%v\nwant\n%v", got, want)
	}
	plain := mustCreateProvider(t, s, providerReq("green", "green-group", nil))
	if ms := plain.AutoScalingGroupProvider.ManagedScaling; ms.Status != "DISABLED" || ms.TargetCapacity != 100 || ms.MaximumScalingStepSize != 10000 {
		t.Fatalf("defaults without managedScaling: %v", ms)
	}

	all, err := s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cp := range all.CapacityProviders {
		names = append(names, cp.Name)
		if cp.Tags != nil {
			t.Fatalf("tags without include TAGS: %v", cp)
		}
	}
	if got := join(names); got != "FARGATE FARGATE_SPOT blue green" || all.NextToken != "" {
		t.Fatalf("all providers %q next %q", got, all.NextToken)
	}
	if f := all.CapacityProviders[0]; f.CapacityProviderArn != "arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE" || f.Status != "ACTIVE" || f.AutoScalingGroupProvider != nil {
		t.Fatalf("FARGATE: %v", f)
	}

	page, err := s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{MaxResults: 3})
	if err != nil || len(page.CapacityProviders) != 3 || page.NextToken == "" {
		t.Fatalf("page 1: %v %v", page, err)
	}
	page, err = s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{MaxResults: 3, NextToken: page.NextToken})
	if err != nil || len(page.CapacityProviders) != 1 || page.CapacityProviders[0].Name != "green" || page.NextToken != "" {
		t.Fatalf("page 2: %v %v", page, err)
	}

	some, err := s.DescribeCapacityProviders(ctx, &berthv1.DescribeCapacityProvidersRequest{Include: []string{"TAGS"},
		CapacityProviders: []string{"arn:aws:ecs:us-east-1:000000000000:capacity-provider/blue", "nope", "FARGATE_SPOT"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(some.CapacityProviders) != 2 || !proto.Equal(some.CapacityProviders[0], want) || some.CapacityProviders[1].Name != "FARGATE_SPOT" ||
		len(some.Failures) != 1 || some.Failures[0].Arn != "nope" || some.Failures[0].Reason != "MISSING" {
		t.Fatalf("named: %v", some)
	}
}

func join(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out
}

func TestPutClusterCapacityProviders(t *testing.T) {
	s := newServer(t)
	mustCreateProvider(t, s, providerReq("blue", "blue-group", nil))
	mustCreateProvider(t, s, providerReq("green", "green-group", nil))
	res, err := s.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: "default",
		CapacityProviders: []string{"blue", "green", "FARGATE"},
		DefaultCapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			{CapacityProvider: "blue", Base: 2, Weight: 1}, {CapacityProvider: "green", Weight: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if cl := res.Cluster; join(cl.CapacityProviders) != "blue green FARGATE" || len(cl.DefaultCapacityProviderStrategy) != 2 ||
		cl.ClusterArn != "arn:aws:ecs:us-east-1:000000000000:cluster/default" {
		t.Fatalf("cluster: %v", cl)
	}
	d, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{})
	if err != nil || join(d.Clusters[0].CapacityProviders) != "blue green FARGATE" {
		t.Fatalf("described: %v %v", d, err)
	}
	// A cluster may be created with an EC2 provider.
	if _, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "other", CapacityProviders: []string{"green"}}); err != nil {
		t.Fatal(err)
	}

	// A provider used by a task that is not STOPPED cannot be removed.
	mustRegisterReq(t, s, fargateTaskDef("fgt", "256", "512"))
	if _, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "fgt", CapacityProviderStrategy: cps(
		&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Weight: 1})}); err != nil {
		t.Fatal(err)
	}
	before := s.store.Revision()
	_, err = s.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"blue"}})
	wantErr(t, err, ecserr.FailedPrecondition, "The specified capacity provider FARGATE is in use and cannot be removed: task arn:aws:ecs:")
	if s.store.Revision() != before {
		t.Fatal("a refused PutClusterCapacityProviders changed the store")
	}
	// Removing providers nobody uses works, and so does clearing the strategy.
	res, err = s.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: "default", CapacityProviders: []string{"FARGATE"}})
	if err != nil || join(res.Cluster.CapacityProviders) != "FARGATE" || len(res.Cluster.DefaultCapacityProviderStrategy) != 0 {
		t.Fatalf("remove unused: %v %v", res, err)
	}
}
