package ecsapi

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/ecs/taskdef"
	"github.com/berth/berth/store"
)

// Scheduling strategies and service statuses, as ECS names them.
const (
	replica         = "REPLICA"
	daemon          = "DAEMON"
	serviceDraining = "DRAINING"
)

// putAttempts bounds how often a service update is retried when the service
// controller wrote the service in between.
const putAttempts = 5

// CreateService creates a service with its first deployment; the service
// controller then starts its tasks.
func (s *Server) CreateService(ctx context.Context, req *berthv1.CreateServiceRequest) (*berthv1.CreateServiceResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if req.GetSchedulingStrategy() != daemon && req.GetDeploymentController().GetType() != controllerExternal {
		if d := s.clusterDefaultStrategy(cluster, req.GetLaunchType(), req.GetCapacityProviderStrategy()); len(d) > len(req.GetCapacityProviderStrategy()) {
			req = proto.Clone(req).(*berthv1.CreateServiceRequest)
			req.CapacityProviderStrategy = d // the cluster's default
		}
	}
	name := req.GetServiceName()
	if old, err := s.store.Service(cluster, name); err == nil && req.GetClientToken() != "" &&
		old.ClientToken == req.GetClientToken() && old.Service.GetStatus() == store.StatusActive {
		return &berthv1.CreateServiceResponse{Service: s.renderService(old, true)}, nil // the same request again
	}
	svc, err := s.newService(cluster, req)
	if err != nil {
		return nil, err
	}
	rec := &berthv1.ServiceRecord{Cluster: cluster, Service: svc, ClientToken: req.GetClientToken()}
	s.recordHistory(rec)
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutService{PutService: &berthv1.PutServiceCommand{
		Service: rec,
	}}})
	if err != nil {
		return nil, err
	}
	return &berthv1.CreateServiceResponse{Service: s.renderService(res.(*berthv1.ServiceRecord), true)}, nil
}

// newService checks a CreateService request and builds the service.
func (s *Server) newService(cluster string, req *berthv1.CreateServiceRequest) (*berthv1.Service, error) {
	if !validName(req.GetServiceName()) {
		return nil, ecserr.Param("serviceName", "%q: 1-255 letters, digits, hyphens and underscores", req.GetServiceName())
	}
	strategy := req.GetSchedulingStrategy()
	switch strategy {
	case "":
		strategy = replica
	case replica, daemon:
	default:
		return nil, ecserr.Param("schedulingStrategy", "must be REPLICA or DAEMON, not %q", strategy)
	}
	controller, err := deploymentController(strategy, req)
	if err != nil {
		return nil, err
	}
	if controller == controllerExternal {
		if err := checkExternalCreateMembers(req); err != nil {
			return nil, err
		}
		svc, err := s.newExternalService(cluster, strategy, req)
		if err != nil {
			return nil, err
		}
		svc.EnableExecuteCommand, svc.AvailabilityZoneRebalancing = req.GetEnableExecuteCommand(), req.GetAvailabilityZoneRebalancing()
		return svc, nil
	}
	if err := checkLaunch(strategy, req.GetLaunchType(), req.GetCapacityProviderStrategy()); err != nil {
		return nil, err
	}
	if err := s.checkEC2Providers(cluster, req.GetCapacityProviderStrategy()); err != nil {
		return nil, err
	}
	if err := checkDesiredCount(strategy, req.DesiredCount, true); err != nil {
		return nil, err
	}
	launchType := serviceLaunchType(req.GetLaunchType(), req.GetCapacityProviderStrategy())
	td, err := s.serviceTaskDefinition(req.GetTaskDefinition(), launchType)
	if err != nil {
		return nil, err
	}
	config, err := deploymentConfiguration(strategy, nil, req.GetDeploymentConfiguration())
	if err != nil {
		return nil, err
	}
	if err := checkPlacement(strategy, td, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
		return nil, err
	}
	if launchType == fargateLaunchType {
		if err := checkFargatePlacement(td, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
			return nil, err
		}
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	if err := s.checkCreateMembers(td, req); err != nil {
		return nil, err
	}
	if err := s.checkSharedTargetGroups(cluster, req.GetServiceName(), req.GetLoadBalancers()); err != nil {
		return nil, err
	}
	if err := s.checkTargetTypes(td, req.GetLoadBalancers()); err != nil {
		return nil, err
	}
	now := epoch(s.now())
	svc := &berthv1.Service{
		ServiceName: req.GetServiceName(), ClusterArn: s.arns.Cluster(cluster), Status: store.StatusActive,
		DesiredCount: proto.Int32(req.GetDesiredCount()), RunningCount: proto.Int32(0), PendingCount: proto.Int32(0),
		LaunchType: req.GetLaunchType(), CapacityProviderStrategy: req.GetCapacityProviderStrategy(), TaskDefinition: s.arns.TaskDefinition(td.Family, td.Revision),
		DeploymentConfiguration: config, CreatedAt: now,
		PlacementConstraints: req.GetPlacementConstraints(), PlacementStrategy: req.GetPlacementStrategy(),
		NetworkConfiguration: req.GetNetworkConfiguration(), HealthCheckGracePeriodSeconds: req.GetHealthCheckGracePeriodSeconds(),
		SchedulingStrategy: strategy, DeploymentController: &berthv1.DeploymentController{Type: "ECS"},
		Tags: req.GetTags(), EnableEcsManagedTags: req.GetEnableEcsManagedTags(), PropagateTags: req.GetPropagateTags(),
		EnableExecuteCommand: req.GetEnableExecuteCommand(), PlatformVersion: req.GetPlatformVersion(),
		LoadBalancers: req.GetLoadBalancers(), ServiceRegistries: req.GetServiceRegistries(), RoleArn: s.roleArn(req.GetRole()),
		AvailabilityZoneRebalancing: req.GetAvailabilityZoneRebalancing(),
	}
	if svc.LaunchType == "" && len(svc.CapacityProviderStrategy) == 0 {
		svc.LaunchType = "EC2"
	}
	if launchType == fargateLaunchType && svc.PlatformVersion == "" {
		svc.PlatformVersion = "LATEST"
	}
	svc.Deployments = []*berthv1.Deployment{s.newDeployment(svc, req.GetServiceConnectConfiguration())}
	return svc, nil
}

// checkCreateMembers checks CreateService's members beyond the scheduler's
// (services_members.go).
func (s *Server) checkCreateMembers(td *berthv1.TaskDefinition, req *berthv1.CreateServiceRequest) error {
	if err := checkRefusedCreate(req); err != nil {
		return err
	}
	if err := checkLoadBalancers(td, req.GetLoadBalancers()); err != nil {
		return err
	}
	if err := checkServiceRegistries(td, req.GetServiceRegistries()); err != nil {
		return err
	}
	if err := checkServiceConnect(td, req.GetServiceConnectConfiguration()); err != nil {
		return err
	}
	if err := checkPropagateTags(req.GetPropagateTags()); err != nil {
		return err
	}
	if t := req.GetClientToken(); len(t) > 36 {
		return ecserr.Param("clientToken", "at most 36 characters, got %d", len(t))
	}
	return checkAZRebalancing(req.GetAvailabilityZoneRebalancing())
}

// checkPropagateTags checks propagateTags.
func checkPropagateTags(v string) error {
	if v != "" && !includes([]string{"TASK_DEFINITION", "SERVICE", "NONE"}, v) {
		return ecserr.Param("propagateTags", "must be TASK_DEFINITION, SERVICE or NONE, not %q", v)
	}
	return nil
}

// checkLaunch checks the launch type against the scheduling strategy.
func checkLaunch(strategy, launchType string, cps []*berthv1.CapacityProviderStrategyItem) error {
	if launchType != "" && len(cps) > 0 {
		return ecserr.Param("launchType", "launchType and capacityProviderStrategy cannot both be given")
	}
	switch launchType {
	case "", "EC2":
	case "FARGATE":
		if strategy == daemon {
			return ecserr.Param("schedulingStrategy", "Fargate does not support the DAEMON scheduling strategy")
		}
	case "EXTERNAL":
		return ecserr.Param("launchType", "EXTERNAL is not supported: berth's instances are EC2-like")
	default:
		return ecserr.Param("launchType", "must be EC2, FARGATE or EXTERNAL, not %q", launchType)
	}
	if len(cps) > 0 {
		return checkCapacityProviderStrategy(strategy, cps)
	}
	return nil
}

// checkDesiredCount checks desiredCount: required (on create) and not
// negative for REPLICA, absent for DAEMON.
func checkDesiredCount(strategy string, count *int32, create bool) error {
	switch {
	case strategy == daemon && count != nil:
		return ecserr.Param("desiredCount", "The daemon scheduling strategy does not support a desired count for services.")
	case strategy == replica && count == nil && create:
		return ecserr.Param("desiredCount", "is required for a REPLICA service")
	case count != nil && *count < 0:
		return ecserr.Param("desiredCount", "must not be negative, got %d", *count)
	}
	return nil
}

// serviceTaskDefinition resolves a service's task definition (ACTIVE).
func (s *Server) serviceTaskDefinition(v, launchType string) (*berthv1.TaskDefinition, error) {
	rec, err := s.activeTaskDefinition(v)
	if err != nil {
		return nil, taskDefinitionSays(err, ecserr.TextTaskDefinitionNotFound)
	}
	td := rec.TaskDefinition
	if launchType == fargateLaunchType {
		return td, taskdef.CheckFargateLaunch(td)
	}
	if len(td.RequiresCompatibilities) > 0 && !includes(td.RequiresCompatibilities, "EC2") {
		return nil, ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException, "Task definition does not support launch_type EC2.")
	}
	return td, nil
}

// deploymentConfiguration merges the request's configuration over the
// current one (or ECS's defaults) and checks that a deployment can make
// progress.
func deploymentConfiguration(strategy string, current, req *berthv1.DeploymentConfiguration) (*berthv1.DeploymentConfiguration, error) {
	out := &berthv1.DeploymentConfiguration{MaximumPercent: proto.Int32(200), MinimumHealthyPercent: proto.Int32(100)}
	if strategy == daemon {
		out.MaximumPercent, out.MinimumHealthyPercent = proto.Int32(100), proto.Int32(0)
	}
	if current != nil {
		out = proto.Clone(current).(*berthv1.DeploymentConfiguration)
	}
	if req == nil {
		req = &berthv1.DeploymentConfiguration{}
	}
	if req.MaximumPercent != nil {
		out.MaximumPercent = req.MaximumPercent
	}
	if req.MinimumHealthyPercent != nil {
		out.MinimumHealthyPercent = req.MinimumHealthyPercent
	}
	if req.DeploymentCircuitBreaker != nil {
		out.DeploymentCircuitBreaker = req.DeploymentCircuitBreaker
	}
	if err := checkRefusedDeploymentConfig(req); err != nil {
		return nil, err
	}
	if req.Alarms != nil {
		out.Alarms = req.Alarms
	}
	if req.Strategy != "" {
		out.Strategy = req.Strategy
	}
	maxP, minP := out.GetMaximumPercent(), out.GetMinimumHealthyPercent()
	switch {
	case minP < 0 || minP > 100:
		return nil, ecserr.Param("deploymentConfiguration.minimumHealthyPercent", "must be between 0 and 100, got %d", minP)
	case strategy == daemon && maxP != 100:
		return nil, ecserr.Param("deploymentConfiguration.maximumPercent", "must be 100 for a DAEMON service, got %d", maxP)
	case strategy == replica && maxP < 100:
		return nil, ecserr.Param("deploymentConfiguration.maximumPercent", "must be at least 100 for a REPLICA service (below it the service never runs its desired count), got %d", maxP)
	case maxP > 400:
		return nil, ecserr.Param("deploymentConfiguration.maximumPercent", "must be at most 400, got %d", maxP)
	case maxP <= minP:
		return nil, ecserr.Param("deploymentConfiguration", "maximumPercent (%d) must be above minimumHealthyPercent (%d), or no task could ever be replaced", maxP, minP)
	}
	return out, nil
}

// checkPlacement checks strategies and constraints; DAEMON services take
// no strategy.
func checkPlacement(strategy string, td *berthv1.TaskDefinition, ps []*berthv1.PlacementStrategy, pc []*berthv1.PlacementConstraint) error {
	if strategy == daemon && len(ps) > 0 {
		return ecserr.Param("placementStrategy", "not supported for DAEMON services: they run one task on every instance")
	}
	_, _, err := placement.Rules(td, ps, pc)
	return err
}

// newDeployment is the PRIMARY deployment of the service's current task
// definition.
func (s *Server) newDeployment(svc *berthv1.Service, sc *berthv1.ServiceConnectConfiguration) *berthv1.Deployment {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e18))
	id := service.DeploymentID(n.Uint64())
	now := epoch(s.now())
	return &berthv1.Deployment{
		Id: id, Status: "PRIMARY", TaskDefinition: svc.TaskDefinition, DesiredCount: svc.DesiredCount,
		PendingCount: proto.Int32(0), RunningCount: proto.Int32(0), FailedTasks: proto.Int32(0),
		CreatedAt: now, UpdatedAt: now, LaunchType: svc.LaunchType, NetworkConfiguration: svc.NetworkConfiguration,
		CapacityProviderStrategy: svc.CapacityProviderStrategy, RolloutState: "IN_PROGRESS", RolloutStateReason: "ECS deployment " + id + " in progress.",
		PlatformVersion: svc.PlatformVersion, ServiceConnectConfiguration: sc,
	}
}

// UpdateService changes a service's desired count, task definition (a new
// deployment), deployment configuration or placement; forceNewDeployment
// starts a new deployment of the same task definition.
func (s *Server) UpdateService(ctx context.Context, req *berthv1.UpdateServiceRequest) (*berthv1.UpdateServiceResponse, error) {
	rec, err := s.changeService(ctx, req.GetCluster(), req.GetService(), func(svc *berthv1.Service) error {
		return s.updateService(svc, req)
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateServiceResponse{Service: s.renderService(rec, true)}, nil
}

func (s *Server) updateService(svc *berthv1.Service, req *berthv1.UpdateServiceRequest) error {
	if isExternal(svc) {
		if err := updateExternalMembers(svc, req); err != nil {
			return err
		}
		return s.updateExternalService(svc, req)
	}
	strategy := svc.SchedulingStrategy
	if err := checkLaunch(strategy, "", req.GetCapacityProviderStrategy()); err != nil {
		return err
	}
	if len(req.GetCapacityProviderStrategy()) > 0 {
		if len(svc.CapacityProviderStrategy) == 0 {
			return ecserr.Param("capacityProviderStrategy", "the service was created with launchType %s: berth cannot switch it to a capacity provider strategy; create a new service", svc.LaunchType)
		}
		if capacity.IsEC2Strategy(svc.CapacityProviderStrategy) != capacity.IsEC2Strategy(req.GetCapacityProviderStrategy()) {
			return ecserr.Param("capacityProviderStrategy", "berth cannot move a service between Fargate and EC2 capacity providers; create a new service")
		}
		cluster, err := arn.ClusterName(svc.ClusterArn)
		if err != nil {
			return err
		}
		if err := s.checkEC2Providers(cluster, req.GetCapacityProviderStrategy()); err != nil {
			return err
		}
		svc.CapacityProviderStrategy = req.GetCapacityProviderStrategy()
	}
	launchType := serviceLaunchType(svc.LaunchType, svc.CapacityProviderStrategy)
	if err := checkDesiredCount(strategy, req.DesiredCount, false); err != nil {
		return err
	}
	if req.DesiredCount != nil {
		svc.DesiredCount = req.DesiredCount
		svc.Deployments[0].DesiredCount = req.DesiredCount
	}
	if req.DeploymentConfiguration != nil {
		config, err := deploymentConfiguration(strategy, svc.DeploymentConfiguration, req.DeploymentConfiguration)
		if err != nil {
			return err
		}
		svc.DeploymentConfiguration = config
	}
	newDeployment := req.GetForceNewDeployment()
	if req.GetTaskDefinition() != "" {
		td, err := s.serviceTaskDefinition(req.GetTaskDefinition(), launchType)
		if err != nil {
			return err
		}
		if a := s.arns.TaskDefinition(td.Family, td.Revision); a != svc.TaskDefinition {
			svc.TaskDefinition, newDeployment = a, true
		}
	}
	if req.PlacementStrategy != nil || req.PlacementConstraints != nil {
		family, rev, _ := arn.TaskDefinition(svc.TaskDefinition)
		td, err := s.store.TaskDefinition(family, rev)
		if err != nil {
			return err
		}
		if err := checkPlacement(strategy, td.TaskDefinition, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
			return err
		}
		if launchType == fargateLaunchType {
			if err := checkFargatePlacement(td.TaskDefinition, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
				return err
			}
		}
		svc.PlacementStrategy, svc.PlacementConstraints = req.GetPlacementStrategy(), req.GetPlacementConstraints()
	}
	if req.NetworkConfiguration != nil {
		if !proto.Equal(req.NetworkConfiguration, svc.NetworkConfiguration) {
			newDeployment = true // ECS starts new tasks with it
		}
		svc.NetworkConfiguration = req.NetworkConfiguration
	}
	if req.HealthCheckGracePeriodSeconds != nil {
		svc.HealthCheckGracePeriodSeconds = req.GetHealthCheckGracePeriodSeconds()
	}
	sc := svc.Deployments[0].GetServiceConnectConfiguration()
	changed, err := s.updateMembers(svc, req, &sc)
	if err != nil {
		return err
	}
	if newDeployment || changed {
		for _, d := range svc.Deployments {
			d.Status = "ACTIVE"
		}
		svc.Deployments = append([]*berthv1.Deployment{s.newDeployment(svc, sc)}, svc.Deployments...)
	}
	return nil
}

// changeService reads an ACTIVE service, lets change modify a copy, and
// writes it back, again if the controller wrote it in between.
func (s *Server) changeService(ctx context.Context, clusterParam, serviceParam string, change func(*berthv1.Service) error) (*berthv1.ServiceRecord, error) {
	cluster, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil, err
	}
	if serviceParam == "" {
		return nil, ecserr.Param("service", "is required")
	}
	name, err := arn.ServiceName(cluster, serviceParam)
	if err != nil {
		return nil, ecserr.Param("service", "%v", err)
	}
	for attempt := 0; ; attempt++ {
		rec, err := s.store.Service(cluster, name)
		if err != nil {
			return nil, err
		}
		if rec.Service.Status != store.StatusActive {
			return nil, ecserr.New(ecserr.FailedPrecondition, ecserr.ServiceNotActiveException, "Service was not ACTIVE: %q is %s", name, rec.Service.Status)
		}
		next := proto.Clone(rec).(*berthv1.ServiceRecord)
		if err := change(next.Service); err != nil {
			return nil, err
		}
		s.recordHistory(next)
		res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutService{PutService: &berthv1.PutServiceCommand{
			Service: next, ExpectedVersion: rec.Version,
		}}})
		if errors.Is(err, store.ErrServiceChanged) && attempt < putAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return res.(*berthv1.ServiceRecord), nil
	}
}

// DeleteService drains a service: its tasks stop and it becomes INACTIVE.
// A service scaled above 0 is only deleted with force.
func (s *Server) DeleteService(ctx context.Context, req *berthv1.DeleteServiceRequest) (*berthv1.DeleteServiceResponse, error) {
	rec, err := s.changeService(ctx, req.GetCluster(), req.GetService(), func(svc *berthv1.Service) error {
		if svc.SchedulingStrategy == replica && svc.GetDesiredCount() > 0 && !req.GetForce() {
			return ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException,
				"service %s has desiredCount %d: set desiredCount to 0 first, or delete with force", svc.ServiceName, svc.GetDesiredCount()).
				Says(ecserr.TextServiceScaledAbove0)
		}
		svc.Status = serviceDraining
		svc.DesiredCount = proto.Int32(0)
		for _, ts := range svc.TaskSets {
			drain(ts, epoch(s.now()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.DeleteServiceResponse{Service: s.renderService(rec, true)}, nil
}

// DescribeServices describes up to 10 services; unknown ones are failures
// with reason MISSING.
func (s *Server) DescribeServices(ctx context.Context, req *berthv1.DescribeServicesRequest) (*berthv1.DescribeServicesResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if err := validateInclude(req.GetInclude(), "TAGS"); err != nil {
		return nil, err
	}
	names, err := objectIDs("services", arn.TypeService, cluster, req.GetServices(), 10)
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeServicesResponse{}
	for _, name := range names {
		rec, err := s.store.Service(cluster, name)
		if err != nil {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.Service(cluster, name), Reason: "MISSING"})
			continue
		}
		out.Services = append(out.Services, s.renderService(rec, includes(req.GetInclude(), "TAGS")))
	}
	return out, nil
}

// ListServices lists the ARNs of the cluster's services that are not
// INACTIVE, by name.
func (s *Server) ListServices(ctx context.Context, req *berthv1.ListServicesRequest) (*berthv1.ListServicesResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if lt := req.GetLaunchType(); lt != "" && !includes([]string{"EC2", "FARGATE", "EXTERNAL"}, lt) {
		return nil, ecserr.Param("launchType", "must be EC2, FARGATE or EXTERNAL, not %q", lt)
	}
	if st := req.GetSchedulingStrategy(); st != "" && st != replica && st != daemon {
		return nil, ecserr.Param("schedulingStrategy", "must be REPLICA or DAEMON, not %q", st)
	}
	// Every service berth runs is the customer's: none is managed by ECS.
	switch req.GetResourceManagementType() {
	case "", "CUSTOMER":
	case "ECS":
		return &berthv1.ListServicesResponse{}, nil
	default:
		return nil, ecserr.Param("resourceManagementType", "must be CUSTOMER or ECS, not %q", req.GetResourceManagementType())
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	recs := s.store.Services(cluster, func(r *berthv1.ServiceRecord) bool {
		svc := r.Service
		return svc.ServiceName > after && svc.Status != store.StatusInactive &&
			(req.GetLaunchType() == "" || svc.LaunchType == req.GetLaunchType()) &&
			(req.GetSchedulingStrategy() == "" || svc.SchedulingStrategy == req.GetSchedulingStrategy())
	})
	out := &berthv1.ListServicesResponse{}
	for i, r := range recs {
		if i == limit {
			out.NextToken = token(recs[i-1].Service.ServiceName)
			break
		}
		out.ServiceArns = append(out.ServiceArns, s.arns.Service(cluster, r.Service.ServiceName))
	}
	return out, nil
}

// renderService is the stored service as ECS shows it.
func (s *Server) renderService(rec *berthv1.ServiceRecord, withTags bool) *berthv1.Service {
	svc := proto.Clone(rec.Service).(*berthv1.Service)
	svc.ServiceArn = s.arns.Service(rec.Cluster, svc.ServiceName)
	if !withTags {
		svc.Tags = nil
		for _, ts := range svc.TaskSets {
			ts.Tags = nil
		}
	}
	return svc
}
