package store

import (
	"context"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func createProvider(s *Store, name, group string) error {
	_, err := s.Apply(context.Background(), &berthv1.Command{At: 1, Change: &berthv1.Command_CreateCapacityProvider{
		CreateCapacityProvider: &berthv1.CreateCapacityProviderCommand{CapacityProvider: &berthv1.CapacityProvider{
			Name: name, AutoScalingGroupProvider: &berthv1.AutoScalingGroupProvider{AutoScalingGroupArn: group}}}}})
	return err
}

// Capacity providers are stored once by name and group, survive a reopen,
// and a cluster may list only providers that exist.
func TestCapacityProviders(t *testing.T) {
	s, path := openTemp(t)
	if err := createProvider(s, "blue", "g1"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, group, want string }{
		{"blue", "g2", "already exists"}, {"FARGATE", "g3", "already exists"}, {"green", "g1", "already used by capacity provider blue"},
	} {
		before := s.Revision()
		if err := createProvider(s, tt.name, tt.group); err == nil || apierr.From(err).Class != apierr.InvalidArgument {
			t.Fatalf("create %s/%s: %v, want %q", tt.name, tt.group, err, tt.want)
		}
		if s.Revision() != before {
			t.Fatal("a refused create changed the store")
		}
	}
	mustApply(t, s, &berthv1.Command{At: 2, Change: &berthv1.Command_CreateCluster{CreateCluster: &berthv1.CreateClusterCommand{
		Cluster: &berthv1.Cluster{ClusterName: "c"}}}})
	put := func(providers ...string) error {
		_, err := s.Apply(context.Background(), &berthv1.Command{At: 3, Change: &berthv1.Command_PutClusterCapacityProviders{
			PutClusterCapacityProviders: &berthv1.PutClusterCapacityProvidersCommand{Cluster: "c", CapacityProviders: providers}}})
		return err
	}
	if err := put("blue", "nope"); err == nil {
		t.Fatal("a cluster listed a provider that does not exist")
	}
	if err := put("blue", "FARGATE"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cps, err := s.CapacityProviders()
	if err != nil || len(cps) != 1 || cps[0].Name != "blue" || cps[0].Status != StatusActive {
		t.Fatalf("after reopen: %v %v", cps, err)
	}
	if cl, err := s.Cluster("c"); err != nil || len(cl.CapacityProviders) != 2 {
		t.Fatalf("cluster after reopen: %v %v", cl, err)
	}
	if _, err := s.CapacityProvider("nope"); apierr.From(err).Class != apierr.NotFound {
		t.Fatalf("unknown provider: %v", err)
	}
}
