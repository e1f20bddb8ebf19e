package ecsapi

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// EC2 capacity providers: CreateCapacityProvider, DescribeCapacityProviders
// and PutClusterCapacityProviders. berth has no Auto Scaling group: a
// provider's autoScalingGroupArn names an instance group of berth's own.

// ECS's limits on managed scaling.
const (
	defaultTargetCapacity = 100
	maxScalingStep        = 10000
	maxWarmupPeriod       = 10000
	defaultWarmupPeriod   = 300
	enabled, disabled     = "ENABLED", "DISABLED"
)

// CreateCapacityProvider stores an EC2 capacity provider with ECS's
// validation and defaults.
func (s *Server) CreateCapacityProvider(ctx context.Context, req *berthv1.CreateCapacityProviderRequest) (*berthv1.CreateCapacityProviderResponse, error) {
	cp, err := newCapacityProvider(req)
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_CreateCapacityProvider{
		CreateCapacityProvider: &berthv1.CreateCapacityProviderCommand{CapacityProvider: cp},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.CreateCapacityProviderResponse{CapacityProvider: s.renderCapacityProvider(res.(*berthv1.CapacityProvider), true)}, nil
}

// clusterProviders keeps the providers of all that are associated with the
// cluster (its capacityProviders).
func (s *Server) clusterProviders(clusterParam string, all []*berthv1.CapacityProvider) ([]*berthv1.CapacityProvider, error) {
	name, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil, err
	}
	cl, err := s.store.Cluster(name)
	if err != nil {
		return nil, err
	}
	var kept []*berthv1.CapacityProvider
	for _, cp := range all {
		if includes(cl.GetCapacityProviders(), cp.Name) {
			kept = append(kept, cp)
		}
	}
	return kept, nil
}

// newCapacityProvider validates the request and fills ECS's defaults.
func newCapacityProvider(req *berthv1.CreateCapacityProviderRequest) (*berthv1.CapacityProvider, error) {
	if req.GetManagedInstancesProvider() != nil {
		return nil, ecserr.Param("managedInstancesProvider", "not supported by berth: it has no ECS Managed Instances; use autoScalingGroupProvider")
	}
	if req.GetCluster() != "" {
		return nil, ecserr.Param("cluster", "not supported by berth: a capacity provider of one cluster is an ECS Managed Instances provider, which berth does not have")
	}
	name := req.GetName()
	if !validName(name) {
		return nil, ecserr.Param("name", "%q: up to 255 letters, digits, hyphens and underscores", name)
	}
	for _, prefix := range []string{"aws", "ecs", "fargate"} {
		if strings.HasPrefix(strings.ToLower(name), prefix) {
			return nil, ecserr.Param("name", "%q: a capacity provider name cannot begin with %q", name, prefix)
		}
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	asg := req.GetAutoScalingGroupProvider()
	if asg == nil {
		return nil, ecserr.Param("autoScalingGroupProvider", "is required")
	}
	asg = proto.Clone(asg).(*berthv1.AutoScalingGroupProvider)
	if g := asg.GetAutoScalingGroupArn(); g == "" || len(g) > 1600 {
		return nil, ecserr.Param("autoScalingGroupProvider.autoScalingGroupArn", "is required (up to 1600 characters): it names the provider's instance group")
	}
	if asg.ManagedScaling == nil {
		asg.ManagedScaling = &berthv1.ManagedScaling{Status: disabled}
	}
	ms := asg.ManagedScaling
	const msPath = "autoScalingGroupProvider.managedScaling"
	switch ms.Status {
	case "":
		ms.Status = enabled
	case enabled, disabled:
	default:
		return nil, ecserr.Param(msPath+".status", "must be ENABLED or DISABLED, not %q", ms.Status)
	}
	if ms.TargetCapacity == 0 {
		ms.TargetCapacity = defaultTargetCapacity
	}
	if ms.TargetCapacity < 1 || ms.TargetCapacity > 100 {
		return nil, ecserr.Param(msPath+".targetCapacity", "must be between 1 and 100, got %d", ms.TargetCapacity)
	}
	if ms.MinimumScalingStepSize == 0 {
		ms.MinimumScalingStepSize = 1
	}
	if ms.MaximumScalingStepSize == 0 {
		ms.MaximumScalingStepSize = maxScalingStep
	}
	if v := ms.MinimumScalingStepSize; v < 1 || v > maxScalingStep {
		return nil, ecserr.Param(msPath+".minimumScalingStepSize", "must be between 1 and %d, got %d", maxScalingStep, v)
	}
	if v := ms.MaximumScalingStepSize; v < 1 || v > maxScalingStep {
		return nil, ecserr.Param(msPath+".maximumScalingStepSize", "must be between 1 and %d, got %d", maxScalingStep, v)
	}
	if ms.MinimumScalingStepSize > ms.MaximumScalingStepSize {
		return nil, ecserr.Param(msPath+".minimumScalingStepSize", "%d is above maximumScalingStepSize %d", ms.MinimumScalingStepSize, ms.MaximumScalingStepSize)
	}
	if ms.InstanceWarmupPeriod == 0 {
		ms.InstanceWarmupPeriod = defaultWarmupPeriod
	}
	if v := ms.InstanceWarmupPeriod; v < 0 || v > maxWarmupPeriod {
		return nil, ecserr.Param(msPath+".instanceWarmupPeriod", "must be between 0 and %d seconds, got %d", maxWarmupPeriod, v)
	}
	switch asg.ManagedTerminationProtection {
	case "":
		asg.ManagedTerminationProtection = disabled
	case enabled:
		if ms.Status != enabled {
			return nil, ecserr.Param("autoScalingGroupProvider.managedTerminationProtection", "ENABLED requires managed scaling to be ENABLED")
		}
	case disabled:
	default:
		return nil, ecserr.Param("autoScalingGroupProvider.managedTerminationProtection", "must be ENABLED or DISABLED, not %q", asg.ManagedTerminationProtection)
	}
	switch asg.ManagedDraining {
	case "":
		asg.ManagedDraining = enabled
	case enabled, disabled:
	default:
		return nil, ecserr.Param("autoScalingGroupProvider.managedDraining", "must be ENABLED or DISABLED, not %q", asg.ManagedDraining)
	}
	return &berthv1.CapacityProvider{Name: name, AutoScalingGroupProvider: asg, Tags: req.GetTags()}, nil
}

// renderCapacityProvider is the stored provider in ECS's shape.
func (s *Server) renderCapacityProvider(stored *berthv1.CapacityProvider, withTags bool) *berthv1.CapacityProvider {
	cp := proto.Clone(stored).(*berthv1.CapacityProvider)
	cp.CapacityProviderArn = s.arns.CapacityProvider(cp.Name)
	if !withTags {
		cp.Tags = nil
	}
	return cp
}

// DescribeCapacityProviders describes the named providers (names or ARNs),
// or all of them, the built-in FARGATE and FARGATE_SPOT first, as ECS lists
// them; up to maxResults (1-10, default 10) a page.
func (s *Server) DescribeCapacityProviders(ctx context.Context, req *berthv1.DescribeCapacityProvidersRequest) (*berthv1.DescribeCapacityProvidersResponse, error) {
	if err := validateInclude(req.GetInclude(), "TAGS"); err != nil {
		return nil, err
	}
	withTags := includes(req.GetInclude(), "TAGS")
	limit := 10
	if m := req.GetMaxResults(); m != 0 {
		if m < 1 || m > 10 {
			return nil, ecserr.Param("maxResults", "must be between 1 and 10, got %d", m)
		}
		limit = int(m)
	}
	start := 0
	if t := req.GetNextToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, ecserr.Param("nextToken", "%q is not a token this berth gave", t)
		}
		start = n
	}
	all := []*berthv1.CapacityProvider{
		{Name: store.ProviderFargate, Status: store.StatusActive},
		{Name: store.ProviderFargateSpot, Status: store.StatusActive},
	}
	stored, err := s.store.CapacityProviders()
	if err != nil {
		return nil, err
	}
	all = append(all, stored...)
	if req.GetCluster() != "" {
		if all, err = s.clusterProviders(req.GetCluster(), all); err != nil {
			return nil, err
		}
	}
	out := &berthv1.DescribeCapacityProvidersResponse{}
	list := all
	if names := req.GetCapacityProviders(); len(names) > 0 {
		byName := map[string]*berthv1.CapacityProvider{}
		for _, cp := range all {
			byName[cp.Name] = cp
		}
		list = nil
		for _, n := range names {
			name := n
			if i := strings.LastIndex(n, ":capacity-provider/"); strings.HasPrefix(n, "arn:") && i >= 0 {
				name = n[i+len(":capacity-provider/"):]
			}
			if cp := byName[name]; cp != nil {
				list = append(list, cp)
			} else {
				out.Failures = append(out.Failures, &berthv1.Failure{Arn: n, Reason: "MISSING"})
			}
		}
	}
	if start > len(list) {
		start = len(list)
	}
	end := min(start+limit, len(list))
	var usage map[string]map[string]capacity.ProviderUse // by cluster, then provider
	for _, cp := range list[start:end] {
		r := s.renderCapacityProvider(cp, withTags)
		if !store.IsBuiltinProvider(cp.Name) {
			if usage == nil {
				usage = s.providerUsage()
			}
			r.Reservations = reservations(usage, cp.Name)
		}
		out.CapacityProviders = append(out.CapacityProviders, r)
	}
	if end < len(list) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

// providerUsage is the usage of every EC2 provider associated with a
// cluster, by cluster (a provider with no usage reported yet counts 0 of 0).
func (s *Server) providerUsage() map[string]map[string]capacity.ProviderUse {
	out := map[string]map[string]capacity.ProviderUse{}
	clusters, _, _ := s.store.Clusters("", 1<<30)
	for _, name := range clusters {
		cl, err := s.store.Cluster(name)
		if err != nil {
			continue
		}
		var reported map[string]capacity.ProviderUse
		if s.ProviderUsage != nil {
			reported = s.ProviderUsage(name)
		}
		for _, p := range cl.GetCapacityProviders() {
			if !store.IsBuiltinProvider(p) {
				if out[name] == nil {
					out[name] = map[string]capacity.ProviderUse{}
				}
				out[name][p] = reported[p]
			}
		}
	}
	return out
}

// reservations are a provider's reservations, one per cluster that uses it,
// by cluster name.
func reservations(usage map[string]map[string]capacity.ProviderUse, provider string) []*berthv1.CapacityProviderReservation {
	var out []*berthv1.CapacityProviderReservation
	for cluster, byProvider := range usage {
		if u, ok := byProvider[provider]; ok {
			out = append(out, &berthv1.CapacityProviderReservation{ClusterName: cluster, Reservation: capacity.Reservation(u.Running, u.Needed),
				InstancesRunning: int32(u.Running), InstancesNeeded: int32(u.Needed)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ClusterName < out[j].ClusterName })
	return out
}

// PutClusterCapacityProviders replaces the cluster's capacity providers and
// its default strategy; a provider still in use cannot be removed.
func (s *Server) PutClusterCapacityProviders(ctx context.Context, req *berthv1.PutClusterCapacityProvidersRequest) (*berthv1.PutClusterCapacityProvidersResponse, error) {
	if req.GetCluster() == "" {
		return nil, ecserr.Param("cluster", "is required")
	}
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, p := range req.GetCapacityProviders() {
		path := fmt.Sprintf("capacityProviders[%d]", i)
		if seen[p] {
			return nil, ecserr.Param(path, "%q is listed twice", p)
		}
		seen[p] = true
		if !store.IsBuiltinProvider(p) && !s.ec2Provider(p) {
			return nil, ecserr.Param(path, "capacity provider %q does not exist", p)
		}
	}
	if err := validateStrategy("defaultCapacityProviderStrategy", req.GetDefaultCapacityProviderStrategy(), req.GetCapacityProviders()); err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutClusterCapacityProviders{
		PutClusterCapacityProviders: &berthv1.PutClusterCapacityProvidersCommand{
			Cluster: cluster, CapacityProviders: req.GetCapacityProviders(), DefaultCapacityProviderStrategy: req.GetDefaultCapacityProviderStrategy(),
		}}})
	if err != nil {
		return nil, err
	}
	return &berthv1.PutClusterCapacityProvidersResponse{Cluster: s.renderCluster(res.(*berthv1.Cluster), false)}, nil
}

// ec2Provider reports whether name is a stored EC2 capacity provider.
func (s *Server) ec2Provider(name string) bool {
	_, err := s.store.CapacityProvider(name)
	return err == nil
}

// checkEC2Providers checks that a strategy's EC2 capacity providers exist
// and are the cluster's (FARGATE and FARGATE_SPOT every cluster may use).
func (s *Server) checkEC2Providers(cluster string, cps []*berthv1.CapacityProviderStrategyItem) error {
	cl, err := s.store.Cluster(cluster)
	if err != nil {
		return err
	}
	for i, it := range cps {
		name := it.GetCapacityProvider()
		if store.IsBuiltinProvider(name) {
			continue
		}
		path := fmt.Sprintf("capacityProviderStrategy[%d].capacityProvider", i)
		if !s.ec2Provider(name) {
			return ecserr.Param(path, "capacity provider %q does not exist", name)
		}
		if !includes(cl.GetCapacityProviders(), name) {
			return ecserr.Param(path, "%q: The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.", name)
		}
	}
	return nil
}

// runProviderTask is RunTask on EC2 capacity providers: the tasks are
// stored PROVISIONING, split over the providers, and the capacity manager
// places them on the providers' instances (scaling those out if it must).
func (s *Server) runProviderTask(ctx context.Context, req *berthv1.RunTaskRequest) (*berthv1.RunTaskResponse, error) {
	cps := req.GetCapacityProviderStrategy()
	if err := checkCapacityProviderStrategy(replica, cps); err != nil {
		return nil, err
	}
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if err := s.checkEC2Providers(cluster, cps); err != nil {
		return nil, err
	}
	p, err := s.planRunTask(req)
	if err != nil {
		return nil, err
	}
	if _, _, err := placement.Rules(p.TaskDef.TaskDefinition, req.GetPlacementStrategy(), req.GetPlacementConstraints()); err != nil {
		return nil, err
	}
	return runTaskResponse(capacity.Launch(ctx, s.placer, p, cps, nil, int(max(req.GetCount(), 1)), req.GetPlacementStrategy(), req.GetPlacementConstraints()))
}
