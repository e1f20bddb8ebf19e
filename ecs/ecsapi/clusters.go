package ecsapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// builtinCapacityProviders are the providers every cluster may use.
var builtinCapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}

// CreateCluster creates a cluster, or returns the ACTIVE one of that name.
func (s *Server) CreateCluster(ctx context.Context, req *berthv1.CreateClusterRequest) (*berthv1.CreateClusterResponse, error) {
	name := req.GetClusterName()
	if name == "" {
		name = DefaultCluster
	}
	if !validName(name) {
		return nil, ecserr.Param("clusterName", "%q: up to 255 letters, digits, hyphens and underscores", name)
	}
	if err := s.validateClusterSpec(req); err != nil {
		return nil, err
	}
	cl := &berthv1.Cluster{
		ClusterName:                     name,
		Tags:                            req.GetTags(),
		Settings:                        req.GetSettings(),
		CapacityProviders:               req.GetCapacityProviders(),
		DefaultCapacityProviderStrategy: req.GetDefaultCapacityProviderStrategy(),
		Configuration:                   req.GetConfiguration(),
	}
	if ns := req.GetServiceConnectDefaults().GetNamespace(); ns != "" {
		cl.ServiceConnectDefaults = &berthv1.ClusterServiceConnectDefaults{Namespace: ns}
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_CreateCluster{
		CreateCluster: &berthv1.CreateClusterCommand{Cluster: cl},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.CreateClusterResponse{Cluster: s.renderCluster(res.(*berthv1.Cluster), true)}, nil
}

func (s *Server) validateClusterSpec(req *berthv1.CreateClusterRequest) error {
	if err := validateTags("tags", req.GetTags()); err != nil {
		return err
	}
	if err := validateClusterSettings("settings", req.GetSettings()); err != nil {
		return err
	}
	if err := validateClusterConfiguration("configuration", req.GetConfiguration()); err != nil {
		return err
	}
	if err := validateServiceConnectDefaults("serviceConnectDefaults", req.GetServiceConnectDefaults()); err != nil {
		return err
	}
	for i, cp := range req.GetCapacityProviders() {
		if !includes(builtinCapacityProviders, cp) && !s.ec2Provider(cp) {
			return ecserr.Param(fmt.Sprintf("capacityProviders[%d]", i), "capacity provider %q does not exist", cp)
		}
	}
	return validateStrategy("defaultCapacityProviderStrategy", req.GetDefaultCapacityProviderStrategy(), req.GetCapacityProviders())
}

// validateStrategy checks a capacity provider strategy against the providers
// it may use: weights 0-1000, base 0-100000 on at most one item, providers
// unique and listed.
func validateStrategy(field string, items []*berthv1.CapacityProviderStrategyItem, providers []string) error {
	seen := map[string]bool{}
	bases, ec2, builtin := 0, false, false
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !includes(providers, it.GetCapacityProvider()):
			return ecserr.Param(path+".capacityProvider", "%q is not one of the cluster's capacity providers", it.GetCapacityProvider())
		case seen[it.GetCapacityProvider()]:
			return ecserr.Param(path+".capacityProvider", "%q is listed twice", it.GetCapacityProvider())
		case it.GetWeight() < 0 || it.GetWeight() > 1000:
			return ecserr.Param(path+".weight", "must be between 0 and 1000")
		case it.GetBase() < 0 || it.GetBase() > 100000:
			return ecserr.Param(path+".base", "must be between 0 and 100000")
		}
		seen[it.GetCapacityProvider()] = true
		if it.GetBase() > 0 {
			bases++
		}
		if includes(builtinCapacityProviders, it.GetCapacityProvider()) {
			builtin = true
		} else {
			ec2 = true
		}
	}
	if bases > 1 {
		return ecserr.Param(field, "only one capacity provider may have a base")
	}
	if ec2 && builtin {
		return ecserr.Param(field, "a capacity provider strategy cannot mix FARGATE or FARGATE_SPOT with EC2 (Auto Scaling group) capacity providers")
	}
	return nil
}

// DescribeClusters describes the named clusters (the default cluster when
// none is named); unknown ones are failures with reason MISSING.
func (s *Server) DescribeClusters(ctx context.Context, req *berthv1.DescribeClustersRequest) (*berthv1.DescribeClustersResponse, error) {
	if err := validateInclude(req.GetInclude(), "ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"); err != nil {
		return nil, err
	}
	names := req.GetClusters()
	if len(names) == 0 {
		names = []string{DefaultCluster}
	}
	if len(names) > 100 {
		return nil, ecserr.Param("clusters", "at most 100 clusters per call, got %d", len(names))
	}
	out := &berthv1.DescribeClustersResponse{}
	for i, v := range names {
		name, err := s.parseClusterName(fmt.Sprintf("clusters[%d]", i), v)
		if err != nil {
			return nil, err
		}
		cl, err := s.store.Cluster(name)
		if ecserr.Is(err, ecserr.NotFound) {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.Cluster(name), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		r := s.renderCluster(cl, includes(req.GetInclude(), "TAGS"))
		if !includes(req.GetInclude(), "SETTINGS") {
			r.Settings = nil
		}
		if !includes(req.GetInclude(), "CONFIGURATIONS") {
			r.Configuration = nil
		}
		if err := s.count(r); err != nil {
			return nil, err
		}
		out.Clusters = append(out.Clusters, r)
	}
	return out, nil
}

// count fills the cluster's instance, service and task counts.
func (s *Server) count(cl *berthv1.Cluster) error {
	c, err := s.store.ClusterCounts(cl.ClusterName)
	if err != nil {
		return err
	}
	cl.RegisteredContainerInstancesCount = proto.Int32(int32(c.Instances))
	cl.ActiveServicesCount = proto.Int32(int32(c.Services))
	cl.RunningTasksCount = proto.Int32(int32(c.RunningTasks))
	cl.PendingTasksCount = proto.Int32(int32(c.PendingTasks))
	return nil
}

// ListClusters lists the ARNs of the ACTIVE clusters by name.
func (s *Server) ListClusters(ctx context.Context, req *berthv1.ListClustersRequest) (*berthv1.ListClustersResponse, error) {
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	names, next, err := s.store.Clusters(after, limit)
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListClustersResponse{NextToken: token(next)}
	for _, n := range names {
		out.ClusterArns = append(out.ClusterArns, s.arns.Cluster(n))
	}
	return out, nil
}

// DeleteCluster marks a cluster INACTIVE; refused while it holds services or
// container instances.
func (s *Server) DeleteCluster(ctx context.Context, req *berthv1.DeleteClusterRequest) (*berthv1.DeleteClusterResponse, error) {
	if req.GetCluster() == "" {
		return nil, ecserr.Param("cluster", "is required")
	}
	name, err := s.parseClusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteCluster{
		DeleteCluster: &berthv1.DeleteClusterCommand{ClusterName: name},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.DeleteClusterResponse{Cluster: s.renderCluster(res.(*berthv1.Cluster), true)}, nil
}

// renderCluster is the stored cluster as ECS shows it.
func (s *Server) renderCluster(stored *berthv1.Cluster, withTags bool) *berthv1.Cluster {
	cl := proto.Clone(stored).(*berthv1.Cluster)
	cl.ClusterArn = s.arns.Cluster(cl.ClusterName)
	if !withTags {
		cl.Tags = nil
	}
	return cl
}
