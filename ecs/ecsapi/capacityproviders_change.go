package ecsapi

import (
	"context"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// DeleteCapacityProvider and UpdateCapacityProvider, on EC2 capacity
// providers (berth has no managed instances providers).

// providerName reads a capacity provider's name or ARN.
func providerName(field, value string) (string, error) {
	if value == "" {
		return "", ecserr.Param(field, "is required")
	}
	if i := strings.LastIndex(value, ":capacity-provider/"); strings.HasPrefix(value, "arn:") {
		if i < 0 {
			return "", ecserr.Param(field, "%q is not a capacity provider ARN", value)
		}
		return value[i+len(":capacity-provider/"):], nil
	}
	return value, nil
}

// DeleteCapacityProvider deletes an EC2 capacity provider that no cluster
// has among its providers and no service's strategy (nor running task)
// uses; FARGATE and FARGATE_SPOT are reserved. The provider comes back
// INACTIVE, update status DELETE_COMPLETE; its instances are left as they
// are.
func (s *Server) DeleteCapacityProvider(ctx context.Context, req *berthv1.DeleteCapacityProviderRequest) (*berthv1.DeleteCapacityProviderResponse, error) {
	name, err := providerName("capacityProvider", req.GetCapacityProvider())
	if err != nil {
		return nil, err
	}
	if store.IsBuiltinProvider(name) {
		return nil, ecserr.Param("capacityProvider", "The %s capacity provider is reserved and cannot be deleted", name)
	}
	if req.GetCluster() != "" {
		if _, err := s.clusterName("cluster", req.GetCluster()); err != nil {
			return nil, err
		}
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteCapacityProvider{
		DeleteCapacityProvider: &berthv1.DeleteCapacityProviderCommand{Name: name},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.DeleteCapacityProviderResponse{CapacityProvider: s.renderCapacityProvider(res.(*berthv1.CapacityProvider), false)}, nil
}

// UpdateCapacityProvider changes an EC2 provider's managed scaling,
// managed termination protection and managed draining, with
// CreateCapacityProvider's rules and defaults; a member left out keeps its
// value (a managedScaling given is taken whole, its omitted fields
// defaulted). The capacity manager uses the new settings on its next pass.
func (s *Server) UpdateCapacityProvider(ctx context.Context, req *berthv1.UpdateCapacityProviderRequest) (*berthv1.UpdateCapacityProviderResponse, error) {
	name, err := providerName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if store.IsBuiltinProvider(name) {
		return nil, ecserr.Param("name", "The %s capacity provider is reserved and cannot be updated", name)
	}
	if req.GetManagedInstancesProvider() != nil {
		return nil, ecserr.Param("managedInstancesProvider", "not supported by berth: it has no ECS Managed Instances")
	}
	upd := req.GetAutoScalingGroupProvider()
	if upd == nil {
		return nil, ecserr.Param("autoScalingGroupProvider", "is required")
	}
	if req.GetCluster() != "" {
		if _, err := s.clusterName("cluster", req.GetCluster()); err != nil {
			return nil, err
		}
	}
	cur, err := s.store.CapacityProvider(name)
	if err != nil {
		return nil, err
	}
	asg := proto.Clone(cur.GetAutoScalingGroupProvider()).(*berthv1.AutoScalingGroupProvider)
	if upd.ManagedScaling != nil {
		asg.ManagedScaling = upd.ManagedScaling
	}
	if upd.ManagedTerminationProtection != "" {
		asg.ManagedTerminationProtection = upd.ManagedTerminationProtection
	}
	if upd.ManagedDraining != "" {
		asg.ManagedDraining = upd.ManagedDraining
	}
	cp, err := newCapacityProvider(&berthv1.CreateCapacityProviderRequest{Name: name, AutoScalingGroupProvider: asg})
	if err != nil {
		return nil, err
	}
	v := cp.GetAutoScalingGroupProvider()
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateCapacityProvider{
		UpdateCapacityProvider: &berthv1.UpdateCapacityProviderCommand{Name: name, ManagedScaling: v.GetManagedScaling(),
			ManagedTerminationProtection: v.GetManagedTerminationProtection(), ManagedDraining: v.GetManagedDraining()},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateCapacityProviderResponse{CapacityProvider: s.renderCapacityProvider(res.(*berthv1.CapacityProvider), false)}, nil
}
