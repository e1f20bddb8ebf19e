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
	withAgents     = "agents and tasks (container instances register through the agent session)"
	withServices   = "the service controller"
	withCapacity   = "Fargate mode and capacity providers"
	withTasksToRun = "agents and tasks (tasks need container instances to run on)"
)

func (s *Server) DescribeContainerInstances(context.Context, *berthv1.DescribeContainerInstancesRequest) (*berthv1.DescribeContainerInstancesResponse, error) {
	return nil, notYet("DescribeContainerInstances", withAgents)
}

func (s *Server) ListContainerInstances(context.Context, *berthv1.ListContainerInstancesRequest) (*berthv1.ListContainerInstancesResponse, error) {
	return nil, notYet("ListContainerInstances", withAgents)
}

func (s *Server) UpdateContainerInstancesState(context.Context, *berthv1.UpdateContainerInstancesStateRequest) (*berthv1.UpdateContainerInstancesStateResponse, error) {
	return nil, notYet("UpdateContainerInstancesState", withAgents)
}

func (s *Server) DeregisterContainerInstance(context.Context, *berthv1.DeregisterContainerInstanceRequest) (*berthv1.DeregisterContainerInstanceResponse, error) {
	return nil, notYet("DeregisterContainerInstance", withAgents)
}

func (s *Server) PutAttributes(context.Context, *berthv1.PutAttributesRequest) (*berthv1.PutAttributesResponse, error) {
	return nil, notYet("PutAttributes", withAgents)
}

func (s *Server) RunTask(context.Context, *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	return nil, notYet("RunTask", withTasksToRun)
}

func (s *Server) StartTask(context.Context, *berthv1.StartTaskRequest) (*berthv1.StartTaskResponse, error) {
	return nil, notYet("StartTask", withTasksToRun)
}

func (s *Server) StopTask(context.Context, *berthv1.StopTaskRequest) (*berthv1.StopTaskResponse, error) {
	return nil, notYet("StopTask", withTasksToRun)
}

func (s *Server) DescribeTasks(context.Context, *berthv1.DescribeTasksRequest) (*berthv1.DescribeTasksResponse, error) {
	return nil, notYet("DescribeTasks", withTasksToRun)
}

func (s *Server) ListTasks(context.Context, *berthv1.ListTasksRequest) (*berthv1.ListTasksResponse, error) {
	return nil, notYet("ListTasks", withTasksToRun)
}

func (s *Server) CreateService(context.Context, *berthv1.CreateServiceRequest) (*berthv1.CreateServiceResponse, error) {
	return nil, notYet("CreateService", withServices)
}

func (s *Server) UpdateService(context.Context, *berthv1.UpdateServiceRequest) (*berthv1.UpdateServiceResponse, error) {
	return nil, notYet("UpdateService", withServices)
}

func (s *Server) DeleteService(context.Context, *berthv1.DeleteServiceRequest) (*berthv1.DeleteServiceResponse, error) {
	return nil, notYet("DeleteService", withServices)
}

func (s *Server) DescribeServices(context.Context, *berthv1.DescribeServicesRequest) (*berthv1.DescribeServicesResponse, error) {
	return nil, notYet("DescribeServices", withServices)
}

func (s *Server) ListServices(context.Context, *berthv1.ListServicesRequest) (*berthv1.ListServicesResponse, error) {
	return nil, notYet("ListServices", withServices)
}

func (s *Server) CreateCapacityProvider(context.Context, *berthv1.CreateCapacityProviderRequest) (*berthv1.CreateCapacityProviderResponse, error) {
	return nil, notYet("CreateCapacityProvider", withCapacity)
}

func (s *Server) DescribeCapacityProviders(context.Context, *berthv1.DescribeCapacityProvidersRequest) (*berthv1.DescribeCapacityProvidersResponse, error) {
	return nil, notYet("DescribeCapacityProviders", withCapacity)
}

func (s *Server) PutClusterCapacityProviders(context.Context, *berthv1.PutClusterCapacityProvidersRequest) (*berthv1.PutClusterCapacityProvidersResponse, error) {
	return nil, notYet("PutClusterCapacityProviders", withCapacity)
}
