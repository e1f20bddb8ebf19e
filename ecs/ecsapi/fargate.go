package ecsapi

import (
	"context"
	"fmt"
	"sort"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/ecs/taskdef"
	"github.com/berth/berth/store"
)

// Fargate: RunTask and CreateService with launchType FARGATE or a capacity
// provider strategy over the built-in FARGATE and FARGATE_SPOT providers.
// The tasks are stored PROVISIONING on no instance; the Fargate pool manager
// (ecs/fargate) gets capacity for them and assigns them.

const fargateLaunchType = "FARGATE"

// Limits ECS puts on a capacity provider strategy item.
const (
	maxProviderWeight = 1000
	maxProviderBase   = 100000
)

// isFargate reports whether a request's tasks run on Fargate: launchType
// FARGATE, or a capacity provider strategy over FARGATE and FARGATE_SPOT
// (the strategy is checked separately; it cannot mix them with EC2
// providers).
func isFargate(launchType string, cps []*berthv1.CapacityProviderStrategyItem) bool {
	return launchType == fargateLaunchType || len(cps) > 0 && !capacity.IsEC2Strategy(cps)
}

// serviceLaunchType is FARGATE for a service whose tasks run on Fargate,
// else its launch type.
func serviceLaunchType(launchType string, cps []*berthv1.CapacityProviderStrategyItem) string {
	if isFargate(launchType, cps) {
		return fargateLaunchType
	}
	return launchType
}

// checkCapacityProviderStrategy applies ECS's rules to a strategy: each
// provider once, weight 0-1000 and base 0-100000, at most one base, at
// least one weight above 0, FARGATE and FARGATE_SPOT not mixed with EC2
// providers, and no DAEMON services. That EC2 providers exist and belong
// to the cluster is checkEC2Providers'.
func checkCapacityProviderStrategy(strategy string, cps []*berthv1.CapacityProviderStrategyItem) error {
	if strategy == daemon {
		return ecserr.Param("capacityProviderStrategy", "The DAEMON scheduling strategy does not support a capacity provider strategy")
	}
	seen := map[string]bool{}
	bases, weighted, builtin, ec2 := 0, false, false, false
	for i, it := range cps {
		path := fmt.Sprintf("capacityProviderStrategy[%d]", i)
		p := it.GetCapacityProvider()
		switch {
		case p == "":
			return ecserr.Param(path+".capacityProvider", "is required")
		case seen[p]:
			return ecserr.Param(path+".capacityProvider", "%s is listed twice", p)
		case store.IsBuiltinProvider(p):
			builtin = true
		default:
			ec2 = true
		}
		seen[p] = true
		if w := it.GetWeight(); w < 0 || w > maxProviderWeight {
			return ecserr.Param(path+".weight", "must be between 0 and %d, got %d", maxProviderWeight, w)
		}
		if b := it.GetBase(); b < 0 || b > maxProviderBase {
			return ecserr.Param(path+".base", "must be between 0 and %d, got %d", maxProviderBase, b)
		}
		if it.GetBase() > 0 {
			bases++
		}
		weighted = weighted || it.GetWeight() > 0
	}
	if bases > 1 {
		return ecserr.Param("capacityProviderStrategy", "Only one capacity provider in a capacity provider strategy can have a base defined, got %d", bases)
	}
	if builtin && ec2 {
		return ecserr.Param("capacityProviderStrategy", "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.")
	}
	if !weighted {
		return ecserr.Param("capacityProviderStrategy", "The specified capacity provider strategy must contain at least one capacity provider with a weight value greater than 0")
	}
	return nil
}

// checkFargatePlacement refuses placement strategies and constraints, which
// Fargate does not have (there are no instances to choose).
func checkFargatePlacement(td *berthv1.TaskDefinition, ps []*berthv1.PlacementStrategy, pc []*berthv1.PlacementConstraint) error {
	switch {
	case len(ps) > 0:
		return ecserr.Param("placementStrategy", "Fargate does not support placement strategies: there are no instances to choose")
	case len(pc) > 0:
		return ecserr.Param("placementConstraints", "Fargate does not support placement constraints: there are no instances to choose")
	case len(td.GetPlacementConstraints()) > 0:
		return ecserr.Param("taskDefinition.placementConstraints", "Fargate does not support placement constraints, and task definition %s:%d has %d",
			td.GetFamily(), td.GetRevision(), len(td.GetPlacementConstraints()))
	}
	return nil
}

// runFargateTask is RunTask on Fargate: the tasks are stored PROVISIONING
// and the pool manager gets them capacity.
func (s *Server) runFargateTask(ctx context.Context, req *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	if err := checkLaunch(replica, req.GetLaunchType(), req.GetCapacityProviderStrategy()); err != nil {
		return nil, err
	}
	if c := req.GetCount(); c < 0 || c > 10 {
		return nil, ecserr.Param("count", "must be between 1 and 10, got %d", c)
	}
	p, err := s.plan(req.GetCluster(), req.GetTaskDefinition(), req.GetOverrides(), req.GetGroup(), req.GetStartedBy(), req.GetTags(), fargateLaunchType, runTaskLaunch(req))
	if err != nil {
		return nil, err
	}
	p.EnableExecuteCommand = req.GetEnableExecuteCommand()
	td := p.TaskDef.TaskDefinition
	if err := taskdef.CheckFargateLaunch(td); err != nil {
		return nil, err
	}
	if err := checkFargatePlacement(td, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
		return nil, err
	}
	count := int(max(req.GetCount(), 1))
	providers := make([]string, count)
	if cps := req.GetCapacityProviderStrategy(); len(cps) > 0 {
		providers = fargate.Split(fargate.Shares(cps), nil, count)
	}
	tasks := make([]*berthv1.TaskRecord, count)
	for i := range tasks {
		tasks[i] = fargate.NewTask(s.placer, p, providers[i])
	}
	return runTaskResponse(fargate.Provision(ctx, s.placer.Apply, p.Cluster, tasks))
}

// runTaskResponse is RunTask's answer for tasks stored PROVISIONING.
func runTaskResponse(stored []*berthv1.TaskRecord, err error) (*berthv1.RunTaskResponse, error) {
	if err != nil {
		return nil, err
	}
	out := &berthv1.RunTaskResponse{}
	for _, t := range stored {
		out.Tasks = append(out.Tasks, t.Task)
	}
	return out, nil
}

// notPoolHost answers NotFound for a Fargate pool host: users never see or
// manage them.
func (s *Server) notPoolHost(cluster, id string) error {
	if rec, err := s.store.ContainerInstance(cluster, id); err == nil && store.IsPoolHost(rec) {
		return ecserr.New(ecserr.NotFound, ecserr.ClientException, "container instance %s not found in cluster %q", id, cluster)
	}
	return nil
}

// withoutPoolHosts drops the ids of Fargate pool hosts.
func (s *Server) withoutPoolHosts(cluster string, ids []string) []string {
	out := ids[:0:0]
	for _, id := range ids {
		if s.notPoolHost(cluster, id) == nil {
			out = append(out, id)
		}
	}
	return out
}

// Fargate Spot interruption, as ECS words it.
const (
	stopSpotInterruption   = "SpotInterruption"
	reasonSpotInterruption = "Your Spot Task was interrupted."
)

// InterruptSpotTasks reclaims Fargate Spot capacity: count of the cluster's
// FARGATE_SPOT tasks that are not stopping (all when count is 0) get ECS's
// interruption notice: desiredStatus STOPPED with stopCode SpotInterruption,
// so that their agents send SIGTERM and, after the containers' stopTimeout
// (ECS's two-minute warning at most), SIGKILL; services replace them. The
// tasks of the pool hosts that run the most Spot tasks go first, as capacity
// comes back by the host.
func (b *Berth) InterruptSpotTasks(ctx context.Context, req *berthv1.InterruptSpotTasksRequest) (*berthv1.InterruptSpotTasksResponse, error) {
	s := b.s
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if req.GetCount() < 0 {
		return nil, ecserr.Param("count", "must not be negative, got %d", req.GetCount())
	}
	spot := s.store.Tasks(cluster, func(t *berthv1.TaskRecord) bool {
		return t.Task.GetCapacityProviderName() == fargate.ProviderFargateSpot && t.Task.GetDesiredStatus() == store.TaskRunning &&
			t.Task.GetLastStatus() != store.TaskStopped
	})
	perHost := map[string]int{}
	for _, t := range spot {
		perHost[t.InstanceId]++
	}
	sort.SliceStable(spot, func(i, j int) bool {
		a, b := spot[i], spot[j]
		if perHost[a.InstanceId] != perHost[b.InstanceId] {
			return perHost[a.InstanceId] > perHost[b.InstanceId]
		}
		return a.InstanceId < b.InstanceId
	})
	if n := int(req.GetCount()); n > 0 && n < len(spot) {
		spot = spot[:n]
	}
	out := &berthv1.InterruptSpotTasksResponse{}
	if len(spot) == 0 {
		return out, nil
	}
	ids := make([]string, len(spot))
	for i, t := range spot {
		ids[i] = t.Id
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: cluster, Ids: ids, StopCode: stopSpotInterruption, Reason: reasonSpotInterruption,
	}}})
	if err != nil {
		return nil, err
	}
	for _, t := range res.(*berthv1.TaskRecords).Tasks {
		out.Tasks = append(out.Tasks, t.Task)
	}
	return out, nil
}

// DescribeFargateCost prices the cluster's Fargate tasks, services and pool
// at Fargate's rates (see fargate.TaskCost).
func (b *Berth) DescribeFargateCost(ctx context.Context, req *berthv1.DescribeFargateCostRequest) (*berthv1.DescribeFargateCostResponse, error) {
	s := b.s
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := &berthv1.DescribeFargateCostResponse{
		VcpuHour: fargate.OnDemandPrice.VCPUHour, GbHour: fargate.OnDemandPrice.GBHour,
		SpotVcpuHour: fargate.SpotPrice.VCPUHour, SpotGbHour: fargate.SpotPrice.GBHour,
	}
	services := map[string]*berthv1.FargateServiceCost{}
	var names []string
	for _, rec := range s.store.Tasks(cluster, func(t *berthv1.TaskRecord) bool { return t.Task.GetLaunchType() == fargateLaunchType }) {
		t := rec.Task
		perHour, soFar := fargate.TaskCost(t, now)
		if t.LastStatus != store.TaskStopped {
			out.Tasks = append(out.Tasks, &berthv1.FargateTaskCost{TaskArn: t.TaskArn, Group: t.Group, CapacityProviderName: t.CapacityProviderName,
				DollarsPerHour: perHour, DollarsSoFar: soFar})
			out.TasksDollarsPerHour += perHour
		}
		name, ok := strings.CutPrefix(t.Group, "service:")
		if !ok {
			continue
		}
		sc := services[name]
		if sc == nil {
			sc = &berthv1.FargateServiceCost{ServiceName: name}
			services[name] = sc
			names = append(names, name)
		}
		if t.LastStatus == store.TaskRunning {
			sc.RunningTasks++
		}
		sc.DollarsPerHour += perHour
		sc.DollarsSoFar += soFar
	}
	sort.Strings(names)
	for _, name := range names {
		out.Services = append(out.Services, services[name])
	}
	for _, h := range s.store.ContainerInstances(cluster, store.IsPoolHost) {
		out.PoolHosts++
		out.PoolDollarsPerHour += fargate.OnDemandPrice.PerHour(int64(h.Registered.GetCpu()), int64(h.Registered.GetMemory()))
	}
	return out, nil
}

// clusterDefaultStrategy is the cluster's default capacity provider
// strategy, which ECS uses when a request gives neither a launch type nor a
// strategy (nil when the cluster has none, or is unknown: the request's own
// checks report that).
func (s *Server) clusterDefaultStrategy(clusterParam, launchType string, cps []*berthv1.CapacityProviderStrategyItem) []*berthv1.CapacityProviderStrategyItem {
	if launchType != "" || len(cps) > 0 {
		return cps
	}
	name, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil
	}
	cl, err := s.store.Cluster(name)
	if err != nil {
		return nil
	}
	return cl.GetDefaultCapacityProviderStrategy()
}
