package ecsapi

import (
	"context"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane/ecserr"
)

// The operations below are part of the contract but arrive with later work:
// each answers Unimplemented and says what brings it.

func notYet(op, arrivesWith string) error {
	return ecserr.New(ecserr.Unimplemented, ecserr.UnsupportedFeatureException,
		"%s is not available in this berth yet: it arrives with %s", op, arrivesWith)
}

const (
	withServices = "the service controller"
	withCapacity = "Fargate mode and capacity providers"
)

func (s *Server) CreateCapacityProvider(context.Context, *berthv1.CreateCapacityProviderRequest) (*berthv1.CreateCapacityProviderResponse, error) {
	return nil, notYet("CreateCapacityProvider", withCapacity)
}

func (s *Server) DescribeCapacityProviders(context.Context, *berthv1.DescribeCapacityProvidersRequest) (*berthv1.DescribeCapacityProvidersResponse, error) {
	return nil, notYet("DescribeCapacityProviders", withCapacity)
}

func (s *Server) PutClusterCapacityProviders(context.Context, *berthv1.PutClusterCapacityProvidersRequest) (*berthv1.PutClusterCapacityProvidersResponse, error) {
	return nil, notYet("PutClusterCapacityProviders", withCapacity)
}
