package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// ListAttributes and DeleteAttributes: the attributes of a cluster's
// container instances, the only target type ECS has.

const targetContainerInstance = "container-instance"

// ListAttributes lists every attribute of the cluster's container
// instances, ECS's own (ecs.os-type, ...) and custom ones, one entry per
// attribute and instance, by instance then name; filtered by name, and by
// value with a name; up to maxResults (1-100, default 100) a page.
func (s *Server) ListAttributes(ctx context.Context, req *berthv1.ListAttributesRequest) (*berthv1.ListAttributesResponse, error) {
	switch t := req.GetTargetType(); t {
	case targetContainerInstance:
	case "":
		return nil, ecserr.Param("targetType", "is required")
	default:
		return nil, ecserr.Param("targetType", "must be container-instance, not %q", t)
	}
	if req.GetAttributeValue() != "" && req.GetAttributeName() == "" {
		return nil, ecserr.Param("attributeValue", "requires attributeName")
	}
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	afterID, afterName, _ := strings.Cut(after, "\x00")
	if after != "" && !strings.Contains(after, "\x00") {
		return nil, ecserr.Param("nextToken", "is not a token returned by a previous call")
	}
	recs := s.store.ContainerInstances(cluster, func(r *berthv1.ContainerInstanceRecord) bool {
		return r.Id >= afterID && !store.IsPoolHost(r)
	})
	sort.Slice(recs, func(i, j int) bool { return recs[i].Id < recs[j].Id })
	out := &berthv1.ListAttributesResponse{}
	for _, r := range recs {
		attrs := append([]*berthv1.Attribute(nil), r.Instance.GetAttributes()...)
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].GetName() < attrs[j].GetName() })
		for _, a := range attrs {
			if r.Id == afterID && a.GetName() <= afterName {
				continue
			}
			if n := req.GetAttributeName(); n != "" && a.GetName() != n {
				continue
			}
			if v := req.GetAttributeValue(); v != "" && a.GetValue() != v {
				continue
			}
			if len(out.Attributes) == limit {
				last := out.Attributes[limit-1]
				id, _ := arn.ID(arn.TypeContainerInstance, cluster, last.TargetId)
				out.NextToken = token(id + "\x00" + last.Name)
				return out, nil
			}
			out.Attributes = append(out.Attributes, &berthv1.Attribute{
				Name: a.GetName(), Value: a.GetValue(), TargetType: targetContainerInstance,
				TargetId: s.arns.ContainerInstance(cluster, r.Id),
			})
		}
	}
	return out, nil
}

// DeleteAttributes removes custom attributes (up to 10) from container
// instances. ECS's own attributes (ecs.*) cannot be removed, nor berth's
// own that names an instance's capacity provider. A target that does not
// exist is a TargetNotFoundException, and nothing is removed.
func (s *Server) DeleteAttributes(ctx context.Context, req *berthv1.DeleteAttributesRequest) (*berthv1.DeleteAttributesResponse, error) {
	attrs := req.GetAttributes()
	if len(attrs) == 0 || len(attrs) > 10 {
		return nil, ecserr.Param("attributes", "give between 1 and 10, got %d", len(attrs))
	}
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	cmd := &berthv1.DeleteAttributesCommand{Cluster: cluster}
	out := &berthv1.DeleteAttributesResponse{}
	for i, a := range attrs {
		path := fmt.Sprintf("attributes[%d]", i)
		if err := validateAttribute(path, a); err != nil {
			return nil, err
		}
		if n := a.GetName(); strings.HasPrefix(n, "ecs.") || n == store.ProviderAttribute {
			return nil, ecserr.Param(path+".name", "%q is managed by ECS and cannot be deleted: only custom attributes can", n)
		}
		id, err := objectID(path+".targetId", arn.TypeContainerInstance, cluster, a.GetTargetId())
		if err != nil {
			return nil, err
		}
		cmd.Attributes = append(cmd.Attributes, &berthv1.Attribute{Name: a.GetName(), Value: a.GetValue(), TargetType: targetContainerInstance, TargetId: id})
		out.Attributes = append(out.Attributes, &berthv1.Attribute{Name: a.GetName(), Value: a.GetValue(), TargetType: targetContainerInstance,
			TargetId: s.arns.ContainerInstance(cluster, id)})
	}
	if _, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteAttributes{DeleteAttributes: cmd}}); err != nil {
		var e *apierr.Error
		if errors.As(err, &e) && e.Reason == store.ReasonTargetNotFound {
			return nil, ecserr.New(e.Class, ecserr.TargetNotFoundException, "%s", e.Message)
		}
		return nil, err
	}
	return out, nil
}
