package ecsapi

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/store"
)

// deploymentController checks CreateService's deploymentController: ECS
// (the default) or EXTERNAL. berth has no CodeDeploy, so CODE_DEPLOY is
// refused rather than kept with nothing to act on it.
func deploymentController(strategy string, req *berthv1.CreateServiceRequest) (string, error) {
	switch t := req.GetDeploymentController().GetType(); t {
	case "", controllerECS:
		return controllerECS, nil
	case controllerExternal:
		if strategy == daemon {
			return "", ecserr.Param("schedulingStrategy", "the EXTERNAL deployment controller does not support the DAEMON scheduling strategy")
		}
		return t, nil
	case controllerCodeDeploy:
		return "", ecserr.Param("deploymentController.type", "CODE_DEPLOY is not supported: berth has no CodeDeploy (use ECS, or EXTERNAL with task sets)")
	default:
		return "", ecserr.Param("deploymentController.type", "must be ECS, CODE_DEPLOY or EXTERNAL, not %q", t)
	}
}

// newExternalService builds a service with the EXTERNAL deployment
// controller. It takes what ECS's external deployment guide lets
// CreateService give (name, desired count, deployment configuration,
// placement, health check grace period, tags and their propagation); the
// task definition, launch type, capacity provider strategy, platform
// version, network configuration and role belong to its task sets and are
// refused here. It has no deployment: its tasks are its task sets'.
func (s *Server) newExternalService(cluster, strategy string, req *berthv1.CreateServiceRequest) (*berthv1.Service, error) {
	for _, m := range []struct {
		field string
		given bool
	}{
		{"taskDefinition", req.GetTaskDefinition() != ""},
		{"launchType", req.GetLaunchType() != ""},
		{"capacityProviderStrategy", len(req.GetCapacityProviderStrategy()) > 0},
		{"platformVersion", req.GetPlatformVersion() != ""},
		{"networkConfiguration", req.NetworkConfiguration != nil},
		{"role", req.GetRole() != ""},
	} {
		if m.given {
			return nil, ecserr.Param(m.field, "not allowed with the EXTERNAL deployment controller: give it to CreateTaskSet")
		}
	}
	if err := checkDesiredCount(strategy, req.DesiredCount, true); err != nil {
		return nil, err
	}
	config, err := deploymentConfiguration(strategy, nil, req.GetDeploymentConfiguration())
	if err != nil {
		return nil, err
	}
	if config.GetDeploymentCircuitBreaker().GetEnable() {
		return nil, ecserr.Param("deploymentConfiguration.deploymentCircuitBreaker", "the circuit breaker needs the ECS deployment controller")
	}
	if err := checkPlacement(strategy, &berthv1.TaskDefinition{}, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
		return nil, err
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	return &berthv1.Service{
		ServiceName: req.GetServiceName(), ClusterArn: s.arns.Cluster(cluster), Status: store.StatusActive,
		DesiredCount: proto.Int32(req.GetDesiredCount()), RunningCount: proto.Int32(0), PendingCount: proto.Int32(0),
		LaunchType: "EC2", DeploymentConfiguration: config, CreatedAt: epoch(s.now()),
		PlacementConstraints: req.GetPlacementConstraints(), PlacementStrategy: req.GetPlacementStrategy(),
		HealthCheckGracePeriodSeconds: req.GetHealthCheckGracePeriodSeconds(), SchedulingStrategy: strategy,
		DeploymentController: &berthv1.DeploymentController{Type: controllerExternal},
		Tags:                 req.GetTags(), EnableEcsManagedTags: req.GetEnableEcsManagedTags(), PropagateTags: req.GetPropagateTags(),
	}, nil
}

// updateExternalService is UpdateService of a service with the EXTERNAL
// deployment controller: the desired count (which scales every task set),
// deployment configuration, placement and health check grace period
// change; what belongs to task sets is refused, naming the member.
func (s *Server) updateExternalService(svc *berthv1.Service, req *berthv1.UpdateServiceRequest) error {
	for _, m := range []struct {
		field string
		given bool
	}{
		{"taskDefinition", req.GetTaskDefinition() != ""},
		{"capacityProviderStrategy", len(req.GetCapacityProviderStrategy()) > 0},
		{"platformVersion", req.GetPlatformVersion() != ""},
		{"networkConfiguration", req.NetworkConfiguration != nil},
		{"forceNewDeployment", req.GetForceNewDeployment()},
	} {
		if m.given {
			return ecserr.Param(m.field, "cannot be updated on a service with the EXTERNAL deployment controller: create a new task set (CreateTaskSet)")
		}
	}
	if err := checkDesiredCount(svc.SchedulingStrategy, req.DesiredCount, false); err != nil {
		return err
	}
	if req.DesiredCount != nil {
		svc.DesiredCount = req.DesiredCount
		for _, ts := range svc.TaskSets {
			if ts.Status != taskSetDraining {
				ts.ComputedDesiredCount = proto.Int32(int32(service.ComputedDesiredCount(int(req.GetDesiredCount()), ts.GetScale().GetValue())))
			}
		}
	}
	if req.DeploymentConfiguration != nil {
		config, err := deploymentConfiguration(svc.SchedulingStrategy, svc.DeploymentConfiguration, req.DeploymentConfiguration)
		if err != nil {
			return err
		}
		if config.GetDeploymentCircuitBreaker().GetEnable() {
			return ecserr.Param("deploymentConfiguration.deploymentCircuitBreaker", "the circuit breaker needs the ECS deployment controller")
		}
		svc.DeploymentConfiguration = config
	}
	if req.PlacementStrategy != nil || req.PlacementConstraints != nil {
		td := &berthv1.TaskDefinition{}
		if svc.TaskDefinition != "" {
			family, rev, _ := arn.TaskDefinition(svc.TaskDefinition)
			rec, err := s.store.TaskDefinition(family, rev)
			if err != nil {
				return err
			}
			td = rec.TaskDefinition
		}
		if err := checkPlacement(svc.SchedulingStrategy, td, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
			return err
		}
		svc.PlacementStrategy, svc.PlacementConstraints = req.GetPlacementStrategy(), req.GetPlacementConstraints()
	}
	if req.HealthCheckGracePeriodSeconds != nil {
		svc.HealthCheckGracePeriodSeconds = req.GetHealthCheckGracePeriodSeconds()
	}
	return nil
}
