package ecsapi

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func TestListAndDeleteAttributes(t *testing.T) {
	s := newServer(t)
	addInstance(t, s, "i1", "az-a", "m5.large", 2048, 4096)
	addInstance(t, s, "i2", "az-b", "m5.large", 2048, 4096)
	i1 := s.arns.ContainerInstance(DefaultCluster, "i1")
	if _, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{
		{Name: "stack", Value: "prod", TargetId: i1}, {Name: "gpu", TargetId: "i2"}}}); err != nil {
		t.Fatal(err)
	}
	list := func(req *berthv1.ListAttributesRequest) []string {
		t.Helper()
		req.TargetType = "container-instance"
		var got []string
		for {
			res, err := s.ListAttributes(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Attributes {
				if a.TargetType != "container-instance" {
					t.Fatalf("attribute %v", a)
				}
				got = append(got, a.TargetId[len(a.TargetId)-2:]+" "+a.Name+"="+a.Value)
			}
			if res.NextToken == "" {
				return got
			}
			req.NextToken = res.NextToken
		}
	}
	all := list(&berthv1.ListAttributesRequest{})
	want := []string{"i1 ecs.availability-zone=az-a", "i1 ecs.instance-type=m5.large", "i1 stack=prod",
		"i2 ecs.availability-zone=az-b", "i2 ecs.instance-type=m5.large", "i2 gpu="}
	if !equalStrings(all, want) {
		t.Fatalf("all attributes %q, want %q", all, want)
	}
	if paged := list(&berthv1.ListAttributesRequest{MaxResults: 1}); !equalStrings(paged, want) {
		t.Fatalf("one a page: %q", paged)
	}
	if got := list(&berthv1.ListAttributesRequest{AttributeName: "ecs.availability-zone", AttributeValue: "az-b"}); !equalStrings(got, []string{"i2 ecs.availability-zone=az-b"}) {
		t.Fatalf("by name and value: %q", got)
	}
	res, err := s.DeleteAttributes(ctx, &berthv1.DeleteAttributesRequest{Attributes: []*berthv1.Attribute{
		{Name: "stack", TargetId: "i1"}, {Name: "gpu", TargetType: "container-instance", TargetId: "i2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attributes) != 2 || res.Attributes[0].TargetId != i1 {
		t.Fatalf("deleted %v", res.Attributes)
	}
	if got := list(&berthv1.ListAttributesRequest{}); len(got) != 4 {
		t.Fatalf("after delete: %q", got)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAttributesBadInput(t *testing.T) {
	s := newServer(t)
	addInstance(t, s, "i1", "az-a", "m5.large", 2048, 4096)
	if _, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{
		{Name: "stack", Value: "prod", TargetId: "i1"}}}); err != nil {
		t.Fatal(err)
	}
	lst := func(req *berthv1.ListAttributesRequest) func() error {
		return func() error { _, err := s.ListAttributes(ctx, req); return err }
	}
	del := func(attrs ...*berthv1.Attribute) func() error {
		return func() error {
			_, err := s.DeleteAttributes(ctx, &berthv1.DeleteAttributesRequest{Attributes: attrs})
			return err
		}
	}
	ci := "container-instance"
	eleven := make([]*berthv1.Attribute, 11)
	for i := range eleven {
		eleven[i] = &berthv1.Attribute{Name: "stack", TargetId: "i1"}
	}
	rejections(t, s, []rejection{
		{"list without target type", lst(&berthv1.ListAttributesRequest{}), ecserr.InvalidArgument, "targetType: is required"},
		{"list bad target type", lst(&berthv1.ListAttributesRequest{TargetType: "task"}), ecserr.InvalidArgument, "targetType: must be container-instance"},
		{"list value without name", lst(&berthv1.ListAttributesRequest{TargetType: ci, AttributeValue: "x"}), ecserr.InvalidArgument, "attributeValue: requires attributeName"},
		{"list max results", lst(&berthv1.ListAttributesRequest{TargetType: ci, MaxResults: 101}), ecserr.InvalidArgument, "maxResults: must be between 1 and 100"},
		{"list bad token", lst(&berthv1.ListAttributesRequest{TargetType: ci, NextToken: "!!"}), ecserr.InvalidArgument, "nextToken"},
		{"list unknown cluster", lst(&berthv1.ListAttributesRequest{TargetType: ci, Cluster: "nope"}), ecserr.NotFound, `"nope"`},
		{"delete none", del(), ecserr.InvalidArgument, "attributes: give between 1 and 10, got 0"},
		{"delete eleven", del(eleven...), ecserr.InvalidArgument, "attributes: give between 1 and 10, got 11"},
		{"delete no name", del(&berthv1.Attribute{TargetId: "i1"}), ecserr.InvalidArgument, "attributes[0].name"},
		{"delete no target", del(&berthv1.Attribute{Name: "stack"}), ecserr.InvalidArgument, "attributes[0].targetId: is required"},
		{"delete bad target type", del(&berthv1.Attribute{Name: "stack", TargetId: "i1", TargetType: "task"}), ecserr.InvalidArgument, "attributes[0].targetType"},
		{"delete ECS attribute", del(&berthv1.Attribute{Name: "ecs.availability-zone", TargetId: "i1"}), ecserr.InvalidArgument, "attributes[0].name: \"ecs.availability-zone\" is managed by ECS"},
		{"delete wrong value", del(&berthv1.Attribute{Name: "stack", Value: "dev", TargetId: "i1"}), ecserr.InvalidArgument, `has the value "prod", not "dev"`},
		{"delete on a missing target", del(&berthv1.Attribute{Name: "stack", TargetId: "i1"}, &berthv1.Attribute{Name: "stack", TargetId: "nope"}),
			ecserr.NotFound, "Could not find container instance nope"},
	})
	_, err := s.DeleteAttributes(ctx, &berthv1.DeleteAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "stack", TargetId: "nope"}}})
	if e := ecserr.From(err); ecserr.Exception(e) != ecserr.TargetNotFoundException {
		t.Fatalf("missing target: %v (%s)", err, ecserr.Exception(e))
	}
}

func TestDeleteAndUpdateCapacityProvider(t *testing.T) {
	s := newServer(t)
	cp := mustCreateProvider(t, s, providerReq("fleet", "group-fleet", &berthv1.ManagedScaling{Status: "ENABLED", TargetCapacity: 80}))
	upd := func(req *berthv1.UpdateCapacityProviderRequest) func() error {
		return func() error { _, err := s.UpdateCapacityProvider(ctx, req); return err }
	}
	del := func(name string) func() error {
		return func() error {
			_, err := s.DeleteCapacityProvider(ctx, &berthv1.DeleteCapacityProviderRequest{CapacityProvider: name})
			return err
		}
	}
	asg := func(ms *berthv1.ManagedScaling, mtp string) *berthv1.AutoScalingGroupProviderUpdate {
		return &berthv1.AutoScalingGroupProviderUpdate{ManagedScaling: ms, ManagedTerminationProtection: mtp}
	}
	if _, err := s.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: DefaultCluster, CapacityProviders: []string{"fleet"}}); err != nil {
		t.Fatal(err)
	}
	rejections(t, s, []rejection{
		{"update without name", upd(&berthv1.UpdateCapacityProviderRequest{AutoScalingGroupProvider: asg(nil, "")}), ecserr.InvalidArgument, "name: is required"},
		{"update FARGATE", upd(&berthv1.UpdateCapacityProviderRequest{Name: "FARGATE", AutoScalingGroupProvider: asg(nil, "")}), ecserr.InvalidArgument, "name: The FARGATE capacity provider is reserved"},
		{"update without group provider", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet"}), ecserr.InvalidArgument, "autoScalingGroupProvider: is required"},
		{"update unknown", upd(&berthv1.UpdateCapacityProviderRequest{Name: "nope", AutoScalingGroupProvider: asg(nil, "")}), ecserr.NotFound, `"nope" not found`},
		{"update unknown cluster", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet", Cluster: "nope", AutoScalingGroupProvider: asg(nil, "")}), ecserr.NotFound, `"nope"`},
		{"update target 0..100", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet", AutoScalingGroupProvider: asg(&berthv1.ManagedScaling{TargetCapacity: 101}, "")}),
			ecserr.InvalidArgument, "autoScalingGroupProvider.managedScaling.targetCapacity: must be between 1 and 100, got 101"},
		{"update termination protection", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet", AutoScalingGroupProvider: asg(nil, "YES")}),
			ecserr.InvalidArgument, "autoScalingGroupProvider.managedTerminationProtection: must be ENABLED or DISABLED"},
		{"update protection without scaling", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet", AutoScalingGroupProvider: asg(&berthv1.ManagedScaling{Status: "DISABLED"}, "ENABLED")}),
			ecserr.InvalidArgument, "autoScalingGroupProvider.managedTerminationProtection: ENABLED requires managed scaling"},
		{"update draining", upd(&berthv1.UpdateCapacityProviderRequest{Name: "fleet", AutoScalingGroupProvider: &berthv1.AutoScalingGroupProviderUpdate{ManagedDraining: "no"}}),
			ecserr.InvalidArgument, "autoScalingGroupProvider.managedDraining"},
		{"delete without name", del(""), ecserr.InvalidArgument, "capacityProvider: is required"},
		{"delete FARGATE_SPOT", del("FARGATE_SPOT"), ecserr.InvalidArgument, "capacityProvider: The FARGATE_SPOT capacity provider is reserved"},
		{"delete unknown", del("nope"), ecserr.NotFound, "nope does not exist"},
		{"delete in a cluster", del(cp.CapacityProviderArn), ecserr.FailedPrecondition, "associated with cluster default"},
	})

	res, err := s.UpdateCapacityProvider(ctx, &berthv1.UpdateCapacityProviderRequest{Name: "fleet", AutoScalingGroupProvider: asg(&berthv1.ManagedScaling{TargetCapacity: 50, MaximumScalingStepSize: 3}, "")})
	if err != nil {
		t.Fatal(err)
	}
	got := res.CapacityProvider
	want := &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: "group-fleet", ManagedScaling: &berthv1.ManagedScaling{Status: "ENABLED", TargetCapacity: 50,
		MinimumScalingStepSize: 1, MaximumScalingStepSize: 3, InstanceWarmupPeriod: 300}, ManagedTerminationProtection: "DISABLED", ManagedDraining: "ENABLED"}
	if got.UpdateStatus != "UPDATE_COMPLETE" || !proto.Equal(got.AutoScalingGroupProvider, want) {
		t.Fatalf("updated %v", got)
	}
	if stored, _ := s.store.CapacityProvider("fleet"); stored.AutoScalingGroupProvider.ManagedScaling.TargetCapacity != 50 {
		t.Fatalf("stored %v", stored)
	}

	if _, err := s.PutClusterCapacityProviders(ctx, &berthv1.PutClusterCapacityProvidersRequest{Cluster: DefaultCluster}); err != nil {
		t.Fatal(err)
	}
	dres, err := s.DeleteCapacityProvider(ctx, &berthv1.DeleteCapacityProviderRequest{CapacityProvider: cp.CapacityProviderArn})
	if err != nil {
		t.Fatal(err)
	}
	if d := dres.CapacityProvider; d.Status != "INACTIVE" || d.UpdateStatus != "DELETE_COMPLETE" || d.Name != "fleet" || d.CapacityProviderArn != cp.CapacityProviderArn {
		t.Fatalf("deleted %v", d)
	}
	if _, err := s.store.CapacityProvider("fleet"); err == nil {
		t.Fatal("the provider is still stored")
	}
	mustCreateProvider(t, s, providerReq("fleet", "group-fleet", nil)) // the name and group are free again
}
