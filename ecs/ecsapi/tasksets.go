package ecsapi

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/store"
)

// Deployment controllers, task set statuses and limits, as ECS has them.
const (
	controllerECS        = "ECS"
	controllerExternal   = "EXTERNAL"
	controllerCodeDeploy = "CODE_DEPLOY"

	taskSetPrimary  = "PRIMARY"
	taskSetActive   = "ACTIVE"
	taskSetDraining = "DRAINING"

	scalePercent = "PERCENT"
	// maxTaskSets is how many task sets (DRAINING ones included) a service
	// may have, as ECS answers beyond it.
	maxTaskSets = 5
)

// ECS's texts for task sets.
const (
	msgNotExternal  = "Amazon ECS only supports task set management on services configured to use external deployment controllers."
	msgTooManySets  = "%d deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit."
	msgPrimary      = "Primary TaskSet cannot be deleted"
	msgTaskSetGone  = "The specified task set does not exist."
	reasonMissing   = "MISSING"
	includeTagsName = "TAGS"
)

// isExternal reports whether a service has the EXTERNAL deployment
// controller.
func isExternal(svc *berthv1.Service) bool {
	return svc.GetDeploymentController().GetType() == controllerExternal
}

// CreateTaskSet adds a task set to a service with the EXTERNAL deployment
// controller; the service controller starts its tasks (started by the task
// set's ID) at its computed desired count.
func (s *Server) CreateTaskSet(ctx context.Context, req *berthv1.CreateTaskSetRequest) (*berthv1.CreateTaskSetResponse, error) {
	var out *berthv1.TaskSet
	_, err := s.changeTaskSets(ctx, req.GetCluster(), req.GetService(), func(r *berthv1.ServiceRecord) error {
		if id, ok := r.TaskSetTokens[req.GetClientToken()]; ok && req.GetClientToken() != "" {
			if out = findTaskSet(r.Service, id); out != nil {
				return errUnchanged
			}
		}
		ts, err := s.newTaskSet(r, req)
		if err != nil {
			return err
		}
		r.Service.TaskSets = append(r.Service.TaskSets, ts)
		if t := req.GetClientToken(); t != "" {
			if r.TaskSetTokens == nil {
				r.TaskSetTokens = map[string]string{}
			}
			for token, id := range r.TaskSetTokens { // a token outlives its task set no longer: at most 5 are kept
				if findTaskSet(r.Service, id) == nil {
					delete(r.TaskSetTokens, token)
				}
			}
			r.TaskSetTokens[t] = ts.Id
		}
		out = ts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.CreateTaskSetResponse{TaskSet: proto.Clone(out).(*berthv1.TaskSet)}, nil
}

// newTaskSet checks a CreateTaskSet request and builds the task set.
func (s *Server) newTaskSet(r *berthv1.ServiceRecord, req *berthv1.CreateTaskSetRequest) (*berthv1.TaskSet, error) {
	svc := r.Service
	if req.GetTaskDefinition() == "" {
		return nil, ecserr.Param("taskDefinition", "is required")
	}
	if n := len(svc.TaskSets); n >= maxTaskSets {
		return nil, ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException, msgTooManySets, n)
	}
	scale, err := checkScale(req.Scale)
	if err != nil {
		return nil, err
	}
	cps := s.clusterDefaultStrategy(r.Cluster, req.GetLaunchType(), req.GetCapacityProviderStrategy())
	if err := checkLaunch(replica, req.GetLaunchType(), cps); err != nil {
		return nil, err
	}
	if err := s.checkEC2Providers(r.Cluster, cps); err != nil {
		return nil, err
	}
	launchType := serviceLaunchType(req.GetLaunchType(), cps)
	td, err := s.serviceTaskDefinition(req.GetTaskDefinition(), launchType)
	if err != nil {
		return nil, err
	}
	if launchType == fargateLaunchType {
		if err := checkFargatePlacement(td, svc.PlacementStrategy, svc.PlacementConstraints); err != nil {
			return nil, err
		}
	}
	if err := checkTaskSetTargets(td, req.GetLoadBalancers(), req.GetServiceRegistries()); err != nil {
		return nil, err
	}
	if err := s.checkTargetTypes(td, req.GetLoadBalancers()); err != nil {
		return nil, err
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(9e18))
	id := service.DeploymentID(n.Uint64())
	now := epoch(s.now())
	ts := &berthv1.TaskSet{
		Id: id, TaskSetArn: s.arns.TaskSet(r.Cluster, svc.ServiceName, id), ServiceArn: s.arns.Service(r.Cluster, svc.ServiceName),
		ClusterArn: svc.ClusterArn, ExternalId: req.GetExternalId(), Status: taskSetActive,
		TaskDefinition:       s.arns.TaskDefinition(td.Family, td.Revision),
		ComputedDesiredCount: proto.Int32(int32(service.ComputedDesiredCount(int(svc.GetDesiredCount()), scale.GetValue()))),
		PendingCount:         proto.Int32(0), RunningCount: proto.Int32(0), CreatedAt: now, UpdatedAt: now,
		LaunchType: req.GetLaunchType(), CapacityProviderStrategy: cps, PlatformVersion: req.GetPlatformVersion(),
		NetworkConfiguration: req.GetNetworkConfiguration(), LoadBalancers: req.GetLoadBalancers(),
		ServiceRegistries: req.GetServiceRegistries(), Scale: scale, StabilityStatus: service.Stabilizing,
		StabilityStatusAt: now, Tags: req.GetTags(),
	}
	if ts.LaunchType == "" && len(cps) == 0 {
		ts.LaunchType = "EC2"
	}
	return ts, nil
}

// checkScale checks a task set's scale: a percent from 0 to 100 (100 %
// when none is given).
func checkScale(sc *berthv1.Scale) (*berthv1.Scale, error) {
	if sc == nil {
		return &berthv1.Scale{Value: proto.Float64(100), Unit: scalePercent}, nil
	}
	out := &berthv1.Scale{Value: proto.Float64(sc.GetValue()), Unit: sc.GetUnit()}
	if out.Unit == "" {
		out.Unit = scalePercent
	}
	if out.Unit != scalePercent {
		return nil, ecserr.Param("scale.unit", "must be PERCENT, not %q", sc.GetUnit())
	}
	if v := out.GetValue(); v < 0 || v > 100 {
		return nil, ecserr.Param("scale.value", "must be between 0 and 100, got %v", v)
	}
	return out, nil
}

// checkTaskSetTargets checks a task set's load balancer and service
// registry: at most one of each (a task set serves one target group), each
// naming a container of the task definition. berth keeps them and shows
// them; nothing routes traffic to them yet.
func checkTaskSetTargets(td *berthv1.TaskDefinition, lbs []*berthv1.LoadBalancer, regs []*berthv1.ServiceRegistry) error {
	if len(lbs) > 1 {
		return ecserr.Param("loadBalancers", "a task set takes one load balancer, got %d", len(lbs))
	}
	for i, lb := range lbs {
		if lb.AdvancedConfiguration != nil {
			return unsupported(fieldIndex("loadBalancers", i)+".advancedConfiguration", "berth has no blue/green deployments")
		}
		if (lb.GetTargetGroupArn() == "") == (lb.GetLoadBalancerName() == "") {
			return ecserr.Param(fieldIndex("loadBalancers", i), "give either targetGroupArn or loadBalancerName")
		}
		if err := checkContainerPort(td, fieldIndex("loadBalancers", i), lb.GetContainerName(), lb.ContainerPort, true); err != nil {
			return err
		}
	}
	if len(regs) > 1 {
		return ecserr.Param("serviceRegistries", "a task set takes one service registry, got %d", len(regs))
	}
	for i, reg := range regs {
		if reg.GetRegistryArn() == "" {
			return ecserr.Param(fieldIndex("serviceRegistries", i)+".registryArn", "is required")
		}
		if reg.GetContainerName() != "" || reg.ContainerPort != nil {
			if err := checkContainerPort(td, fieldIndex("serviceRegistries", i), reg.GetContainerName(), reg.ContainerPort, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkContainerPort checks that a container of the task definition has the
// name and maps the port.
func checkContainerPort(td *berthv1.TaskDefinition, field, name string, port *int32, required bool) error {
	if name == "" {
		return ecserr.Param(field+".containerName", "is required")
	}
	if port == nil {
		if required {
			return ecserr.Param(field+".containerPort", "is required")
		}
		return nil
	}
	for _, cd := range td.ContainerDefinitions {
		if cd.GetName() != name {
			continue
		}
		for _, pm := range cd.PortMappings {
			if pm.GetContainerPort() == *port {
				return nil
			}
		}
		return ecserr.Param(field+".containerPort", "container %q of %s:%d maps no port %d", name, td.Family, td.Revision, *port)
	}
	return ecserr.Param(field+".containerName", "%s:%d has no container %q", td.Family, td.Revision, name)
}

func fieldIndex(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// DescribeTaskSets describes the service's task sets: those named (IDs or
// ARNs; unknown ones are failures with reason MISSING), or all of them.
func (s *Server) DescribeTaskSets(ctx context.Context, req *berthv1.DescribeTaskSetsRequest) (*berthv1.DescribeTaskSetsResponse, error) {
	if err := validateInclude(req.GetInclude(), includeTagsName); err != nil {
		return nil, err
	}
	rec, err := s.externalService(req.GetCluster(), req.GetService(), false)
	if err != nil {
		return nil, err
	}
	svc, withTags := rec.Service, includes(req.GetInclude(), includeTagsName)
	out := &berthv1.DescribeTaskSetsResponse{}
	if len(req.GetTaskSets()) == 0 {
		for _, ts := range svc.TaskSets {
			out.TaskSets = append(out.TaskSets, renderTaskSet(ts, withTags))
		}
		return out, nil
	}
	for i, v := range req.GetTaskSets() {
		id, err := arn.TaskSetID(rec.Cluster, svc.ServiceName, v)
		if err != nil {
			return nil, ecserr.Param(fieldIndex("taskSets", i), "%v", err)
		}
		if ts := findTaskSet(svc, id); ts != nil {
			out.TaskSets = append(out.TaskSets, renderTaskSet(ts, withTags))
		} else {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.TaskSet(rec.Cluster, svc.ServiceName, id), Reason: reasonMissing})
		}
	}
	return out, nil
}

// UpdateTaskSet changes a task set's scale, the one thing ECS lets change.
func (s *Server) UpdateTaskSet(ctx context.Context, req *berthv1.UpdateTaskSetRequest) (*berthv1.UpdateTaskSetResponse, error) {
	if req.Scale == nil {
		return nil, ecserr.Param("scale", "is required")
	}
	scale, err := checkScale(req.Scale)
	if err != nil {
		return nil, err
	}
	var out *berthv1.TaskSet
	_, err = s.changeTaskSet(ctx, req.GetCluster(), req.GetService(), req.GetTaskSet(), "taskSet", func(svc *berthv1.Service, ts *berthv1.TaskSet) error {
		if ts.Status == taskSetDraining {
			return ecserr.Param("taskSet", "%s is DRAINING: a deleted task set cannot be scaled", ts.Id)
		}
		ts.Scale = scale
		ts.ComputedDesiredCount = proto.Int32(int32(service.ComputedDesiredCount(int(svc.GetDesiredCount()), scale.GetValue())))
		ts.UpdatedAt = epoch(s.now())
		out = ts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateTaskSetResponse{TaskSet: renderTaskSet(out, true)}, nil
}

// UpdateServicePrimaryTaskSet makes a task set the service's PRIMARY one
// (the one before becomes ACTIVE); the service shows the primary's task
// definition, launch type, capacity provider strategy, platform version and
// network configuration.
func (s *Server) UpdateServicePrimaryTaskSet(ctx context.Context, req *berthv1.UpdateServicePrimaryTaskSetRequest) (*berthv1.UpdateServicePrimaryTaskSetResponse, error) {
	var out *berthv1.TaskSet
	_, err := s.changeTaskSet(ctx, req.GetCluster(), req.GetService(), req.GetPrimaryTaskSet(), "primaryTaskSet", func(svc *berthv1.Service, ts *berthv1.TaskSet) error {
		if ts.Status == taskSetDraining {
			return ecserr.Param("primaryTaskSet", "%s is DRAINING: a deleted task set cannot become PRIMARY", ts.Id)
		}
		now := epoch(s.now())
		for _, other := range svc.TaskSets {
			if other.Status == taskSetPrimary && other != ts {
				other.Status, other.UpdatedAt = taskSetActive, now
			}
		}
		if ts.Status != taskSetPrimary {
			ts.Status, ts.UpdatedAt = taskSetPrimary, now
		}
		svc.TaskDefinition, svc.LaunchType, svc.CapacityProviderStrategy = ts.TaskDefinition, ts.LaunchType, ts.CapacityProviderStrategy
		svc.PlatformVersion, svc.NetworkConfiguration = ts.PlatformVersion, ts.NetworkConfiguration
		out = ts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateServicePrimaryTaskSetResponse{TaskSet: renderTaskSet(out, true)}, nil
}

// DeleteTaskSet drains a task set: it becomes DRAINING, the service
// controller stops its tasks, and it is gone from the service once none is
// left. The PRIMARY task set is deleted only with force; the service then
// shows no task set's fields.
func (s *Server) DeleteTaskSet(ctx context.Context, req *berthv1.DeleteTaskSetRequest) (*berthv1.DeleteTaskSetResponse, error) {
	var out *berthv1.TaskSet
	_, err := s.changeTaskSet(ctx, req.GetCluster(), req.GetService(), req.GetTaskSet(), "taskSet", func(svc *berthv1.Service, ts *berthv1.TaskSet) error {
		if ts.Status == taskSetPrimary {
			if !req.GetForce() {
				return ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException, msgPrimary)
			}
			svc.TaskDefinition, svc.PlatformVersion, svc.NetworkConfiguration = "", "", nil
		}
		drain(ts, epoch(s.now()))
		out = ts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.DeleteTaskSetResponse{TaskSet: renderTaskSet(out, true)}, nil
}

// drain makes a task set DRAINING, its computed desired count 0.
func drain(ts *berthv1.TaskSet, now float64) {
	if ts.Status == taskSetDraining {
		return
	}
	ts.Status, ts.ComputedDesiredCount, ts.UpdatedAt = taskSetDraining, proto.Int32(0), now
	ts.StabilityStatus, ts.StabilityStatusAt = service.Stabilizing, now
}

// externalService reads a service whose task sets are managed: it must
// exist, have the EXTERNAL deployment controller, and (active) be ACTIVE.
func (s *Server) externalService(clusterParam, serviceParam string, active bool) (*berthv1.ServiceRecord, error) {
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
	rec, err := s.store.Service(cluster, name)
	if err != nil {
		return nil, err
	}
	if !isExternal(rec.Service) {
		return nil, ecserr.New(ecserr.InvalidArgument, ecserr.InvalidParameterException, msgNotExternal)
	}
	if active && rec.Service.Status != "ACTIVE" {
		return nil, ecserr.New(ecserr.FailedPrecondition, ecserr.ServiceNotActiveException, "Service was not ACTIVE: %q is %s", name, rec.Service.Status)
	}
	return rec, nil
}

// errUnchanged ends a change that has nothing to write.
var errUnchanged = errors.New("unchanged")

// changeTaskSets reads an ACTIVE EXTERNAL service, lets change modify a copy
// and writes it back, again if the service controller wrote it in between.
func (s *Server) changeTaskSets(ctx context.Context, clusterParam, serviceParam string, change func(*berthv1.ServiceRecord) error) (*berthv1.ServiceRecord, error) {
	for attempt := 0; ; attempt++ {
		rec, err := s.externalService(clusterParam, serviceParam, true)
		if err != nil {
			return nil, err
		}
		next := proto.Clone(rec).(*berthv1.ServiceRecord)
		if err := change(next); errors.Is(err, errUnchanged) {
			return rec, nil
		} else if err != nil {
			return nil, err
		}
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

// changeTaskSet changes one task set of an ACTIVE EXTERNAL service, named
// by ID or ARN in the request's field.
func (s *Server) changeTaskSet(ctx context.Context, clusterParam, serviceParam, taskSetParam, field string, change func(*berthv1.Service, *berthv1.TaskSet) error) (*berthv1.ServiceRecord, error) {
	if taskSetParam == "" {
		return nil, ecserr.Param(field, "is required")
	}
	return s.changeTaskSets(ctx, clusterParam, serviceParam, func(r *berthv1.ServiceRecord) error {
		id, err := arn.TaskSetID(r.Cluster, r.Service.ServiceName, taskSetParam)
		if err != nil {
			return ecserr.Param(field, "%v", err)
		}
		ts := findTaskSet(r.Service, id)
		if ts == nil {
			return ecserr.New(ecserr.NotFound, ecserr.TaskSetNotFoundException, msgTaskSetGone)
		}
		return change(r.Service, ts)
	})
}

func findTaskSet(svc *berthv1.Service, id string) *berthv1.TaskSet {
	for _, ts := range svc.TaskSets {
		if ts.Id == id {
			return ts
		}
	}
	return nil
}

// renderTaskSet is a stored task set as ECS shows it; its tags only when
// asked for.
func renderTaskSet(ts *berthv1.TaskSet, withTags bool) *berthv1.TaskSet {
	out := proto.Clone(ts).(*berthv1.TaskSet)
	if !withTags {
		out.Tags = nil
	}
	return out
}
