package ecsapi

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// DescribeContainerInstances describes instances of a cluster; unknown ones
// are failures with reason MISSING.
func (s *Server) DescribeContainerInstances(ctx context.Context, req *berthv1.DescribeContainerInstancesRequest) (*berthv1.DescribeContainerInstancesResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if err := validateInclude(req.GetInclude(), "TAGS", "CONTAINER_INSTANCE_HEALTH"); err != nil {
		return nil, err
	}
	ids, err := objectIDs("containerInstances", arn.TypeContainerInstance, cluster, req.GetContainerInstances(), 100)
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeContainerInstancesResponse{}
	for _, id := range ids {
		rec, err := s.store.ContainerInstance(cluster, id)
		if err != nil || store.IsPoolHost(rec) { // Fargate pool hosts are not the user's
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.ContainerInstance(cluster, id), Reason: "MISSING"})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, s.renderInstance(rec))
	}
	return out, nil
}

// ListContainerInstances lists instance ARNs by id, filtered by status and by
// an expression in the cluster query language.
func (s *Server) ListContainerInstances(ctx context.Context, req *berthv1.ListContainerInstancesRequest) (*berthv1.ListContainerInstancesResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	var filter *scheduler.Expression
	if req.GetFilter() != "" {
		if filter, err = scheduler.ParseExpression(req.GetFilter()); err != nil {
			return nil, ecserr.Param("filter", "%v", err)
		}
	}
	status := req.GetStatus()
	if status != "" && !includes([]string{store.StatusActive, store.StatusDraining, "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"}, status) {
		return nil, ecserr.Param("status", "must be ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED, not %q", status)
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	recs := s.store.ContainerInstances(cluster, func(r *berthv1.ContainerInstanceRecord) bool {
		return r.Id > after && (status == "" || r.Instance.Status == status) && !store.IsPoolHost(r)
	})
	groups := s.store.GroupsByInstance(cluster)
	out := &berthv1.ListContainerInstancesResponse{}
	last := ""
	for _, r := range recs {
		if filter != nil {
			in := s.placer.Instance(r, groups[r.Id])
			if !filter.Match(&in) {
				continue
			}
		}
		if len(out.ContainerInstanceArns) == limit {
			out.NextToken = token(last)
			break
		}
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, s.arns.ContainerInstance(cluster, r.Id))
		last = r.Id
	}
	return out, nil
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. A DRAINING
// instance takes no new tasks.
func (s *Server) UpdateContainerInstancesState(ctx context.Context, req *berthv1.UpdateContainerInstancesStateRequest) (*berthv1.UpdateContainerInstancesStateResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if req.GetStatus() != store.StatusActive && req.GetStatus() != store.StatusDraining {
		return nil, ecserr.Param("status", "must be ACTIVE or DRAINING, not %q", req.GetStatus())
	}
	ids, err := objectIDs("containerInstances", arn.TypeContainerInstance, cluster, req.GetContainerInstances(), 10)
	if err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateContainerInstancesState{
		UpdateContainerInstancesState: &berthv1.UpdateContainerInstancesStateCommand{Cluster: cluster, Ids: s.withoutPoolHosts(cluster, ids), Status: req.GetStatus()}, // pool hosts: MISSING below
	}})
	if err != nil {
		return nil, err
	}
	out := &berthv1.UpdateContainerInstancesStateResponse{}
	updated := map[string]bool{}
	for _, rec := range res.(*berthv1.ContainerInstanceRecords).Instances {
		updated[rec.Id] = true
		out.ContainerInstances = append(out.ContainerInstances, s.renderInstance(rec))
	}
	for _, id := range ids {
		if !updated[id] {
			out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.ContainerInstance(cluster, id), Reason: "MISSING"})
		}
	}
	return out, nil
}

// DeregisterContainerInstance removes an instance from its cluster; with
// tasks on it only with force (its tasks are then stopped).
func (s *Server) DeregisterContainerInstance(ctx context.Context, req *berthv1.DeregisterContainerInstanceRequest) (*berthv1.DeregisterContainerInstanceResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	id, err := objectID("containerInstance", arn.TypeContainerInstance, cluster, req.GetContainerInstance())
	if err != nil {
		return nil, err
	}
	if err := s.notPoolHost(cluster, id); err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeregisterContainerInstance{
		DeregisterContainerInstance: &berthv1.DeregisterContainerInstanceCommand{Cluster: cluster, Id: id, Force: req.GetForce()},
	}})
	if err != nil {
		return nil, err
	}
	return &berthv1.DeregisterContainerInstanceResponse{ContainerInstance: s.renderInstance(res.(*berthv1.ContainerInstanceRecord))}, nil
}

// PutAttributes sets custom attributes on container instances.
func (s *Server) PutAttributes(ctx context.Context, req *berthv1.PutAttributesRequest) (*berthv1.PutAttributesResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	attrs := req.GetAttributes()
	if len(attrs) == 0 || len(attrs) > 10 {
		return nil, ecserr.Param("attributes", "give between 1 and 10, got %d", len(attrs))
	}
	cmd := &berthv1.PutAttributesCommand{Cluster: cluster}
	for i, a := range attrs {
		path := fmt.Sprintf("attributes[%d]", i)
		if err := validateAttribute(path, a); err != nil {
			return nil, err
		}
		id, err := objectID(path+".targetId", arn.TypeContainerInstance, cluster, a.GetTargetId())
		if err != nil {
			return nil, err
		}
		if err := s.notPoolHost(cluster, id); err != nil {
			return nil, err
		}
		cmd.Attributes = append(cmd.Attributes, &berthv1.Attribute{Name: a.GetName(), Value: a.GetValue(), TargetType: "container-instance", TargetId: id})
	}
	if _, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutAttributes{PutAttributes: cmd}}); err != nil {
		return nil, err
	}
	return &berthv1.PutAttributesResponse{Attributes: attrs}, nil
}

// validateAttribute checks ECS's attribute rules: a name of 1-128 letters,
// digits, hyphens, underscores, slashes and periods; a value of up to 128
// such characters (spaces allowed inside); targetType container-instance.
func validateAttribute(path string, a *berthv1.Attribute) error {
	if !attributeText(a.GetName(), false) || len(a.GetName()) == 0 || len(a.GetName()) > 128 {
		return ecserr.Param(path+".name", "%q: 1-128 letters, digits, hyphens, underscores, slashes and periods", a.GetName())
	}
	if len(a.GetValue()) > 128 || !attributeText(a.GetValue(), true) {
		return ecserr.Param(path+".value", "%q: up to 128 letters, digits, hyphens, underscores, periods, at signs, slashes, colons and spaces", a.GetValue())
	}
	if t := a.GetTargetType(); t != "" && t != "container-instance" {
		return ecserr.Param(path+".targetType", "must be container-instance, not %q", t)
	}
	return nil
}

func attributeText(s string, value bool) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '/' || r == '.'
		if value {
			ok = ok || r == '@' || r == ':' || r == ' '
		}
		if !ok {
			return false
		}
	}
	return true
}

// renderInstance is the stored instance as ECS shows it: resources as ECS's
// Resource list (remaining = registered minus what its tasks hold; PORTS
// lists the ports taken).
func (s *Server) renderInstance(rec *berthv1.ContainerInstanceRecord) *berthv1.ContainerInstance {
	in := cloneInstance(rec.Instance)
	in.ContainerInstanceArn = s.arns.ContainerInstance(rec.Cluster, rec.Id)
	in.RegisteredResources = resourceList(rec.Registered, nil)
	in.RemainingResources = resourceList(rec.Registered, rec.Allocated)
	in.RunningTasksCount = proto.Int32(rec.RunningTasks)
	in.PendingTasksCount = proto.Int32(rec.PendingTasks)
	in.CapacityProviderName = store.InstanceAttribute(rec, store.ProviderAttribute)
	return in
}

func resourceList(registered, allocated *berthv1.Resources) []*berthv1.Resource {
	if allocated == nil {
		allocated = &berthv1.Resources{}
	}
	ports := func(reg, used []int32) []string {
		all := append(append([]int32{}, reg...), used...)
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		out := make([]string, len(all))
		for i, p := range all {
			out[i] = strconv.Itoa(int(p))
		}
		return out
	}
	list := []*berthv1.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(registered.GetCpu() - allocated.GetCpu())},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: proto.Int32(registered.GetMemory() - allocated.GetMemory())},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: ports(registered.GetPortsTcp(), allocated.GetPortsTcp())},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: ports(registered.GetPortsUdp(), allocated.GetPortsUdp())},
	}
	if registered.GetGpu() > 0 {
		list = append(list, &berthv1.Resource{Name: "GPU", Type: "INTEGER", IntegerValue: proto.Int32(registered.GetGpu() - allocated.GetGpu())})
	}
	return list
}
