package ecsapi

import (
	"context"
	"fmt"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// TagResource adds tags to a resource; a key it already has takes the new
// value. The resource may have at most 50 tags afterwards.
func (s *Server) TagResource(ctx context.Context, req *berthv1.TagResourceRequest) (*berthv1.TagResourceResponse, error) {
	res, err := s.taggedResource(req.GetResourceArn())
	if err != nil {
		return nil, err
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	if _, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_TagResource{
		TagResource: &berthv1.TagResourceCommand{Resource: res, Tags: req.GetTags()},
	}}); err != nil {
		return nil, err
	}
	return &berthv1.TagResourceResponse{}, nil
}

// UntagResource removes tags from a resource by key; keys it does not have
// are ignored.
func (s *Server) UntagResource(ctx context.Context, req *berthv1.UntagResourceRequest) (*berthv1.UntagResourceResponse, error) {
	res, err := s.taggedResource(req.GetResourceArn())
	if err != nil {
		return nil, err
	}
	if len(req.GetTagKeys()) > store.MaxTags {
		return nil, ecserr.Param("tagKeys", "at most %d keys, got %d", store.MaxTags, len(req.GetTagKeys()))
	}
	for i, k := range req.GetTagKeys() {
		if err := validateTagKey(fmt.Sprintf("tagKeys[%d]", i), k); err != nil {
			return nil, err
		}
	}
	if _, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_TagResource{
		TagResource: &berthv1.TagResourceCommand{Resource: res, TagKeys: req.GetTagKeys()},
	}}); err != nil {
		return nil, err
	}
	return &berthv1.UntagResourceResponse{}, nil
}

// ListTagsForResource returns a resource's tags.
func (s *Server) ListTagsForResource(ctx context.Context, req *berthv1.ListTagsForResourceRequest) (*berthv1.ListTagsForResourceResponse, error) {
	res, err := s.taggedResource(req.GetResourceArn())
	if err != nil {
		return nil, err
	}
	tags, err := s.store.ResourceTags(res)
	if err != nil {
		return nil, err
	}
	return &berthv1.ListTagsForResourceResponse{Tags: tags}, nil
}

// taggedResource reads a resourceArn: an ECS ARN of this region and account
// naming a cluster, a service, task or container instance (the long form,
// TYPE/CLUSTER/NAME, as ECS requires for tagging), a task definition
// (family:revision) or a capacity provider.
func (s *Server) taggedResource(value string) (*berthv1.TaggedResource, error) {
	const field = "resourceArn"
	if value == "" {
		return nil, ecserr.Param(field, "is required")
	}
	a, err := arn.Parse(value)
	if err != nil {
		return nil, ecserr.Param(field, "%v", err)
	}
	if a.Region != s.arns.Region || a.Account != s.arns.Account {
		return nil, ecserr.Param(field, "%q is not in region %s and account %s", value, s.arns.Region, s.arns.Account)
	}
	switch a.Type {
	case arn.TypeCluster, arn.TypeCapacityProvider:
		if !validName(a.Resource) {
			return nil, ecserr.Param(field, "%q: %q is not a %s name", value, a.Resource, a.Type)
		}
		if a.Type == arn.TypeCapacityProvider && store.IsBuiltinProvider(a.Resource) {
			return nil, ecserr.Param(field, "%q: the built-in capacity provider %s cannot be tagged", value, a.Resource)
		}
		return &berthv1.TaggedResource{Type: a.Type, Name: a.Resource}, nil
	case arn.TypeService, arn.TypeTask, arn.TypeContainerInstance:
		cluster, name, long := strings.Cut(a.Resource, "/")
		if !long {
			return nil, ecserr.Param(field, "Long arn format must be used for tagging operations: %q", value)
		}
		if !validName(cluster) || name == "" || strings.Contains(name, "/") {
			return nil, ecserr.Param(field, "%q is not a %s ARN (%s/CLUSTER/NAME)", value, a.Type, a.Type)
		}
		return &berthv1.TaggedResource{Type: a.Type, Cluster: cluster, Name: name}, nil
	case arn.TypeTaskDefinition:
		family, revision, err := arn.TaskDefinition(value)
		if err != nil {
			return nil, ecserr.Param(field, "%v", err)
		}
		return &berthv1.TaggedResource{Type: a.Type, Name: family, Revision: revision}, nil
	}
	return nil, ecserr.Param(field, "%q: resource type %q cannot be tagged (clusters, services, tasks, task definitions, container instances and capacity providers can)", value, a.Type)
}
