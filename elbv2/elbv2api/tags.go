package elbv2api

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

// tagged is a resource's tags read and written by ARN.
type tagged struct {
	tags  []*berthv1.ELBTag
	write func(ctx context.Context, tags []*berthv1.ELBTag) error
}

// resource finds a load balancer, target group, listener or rule by ARN.
func (s *Server) resource(field, a string) (tagged, error) {
	rest, ok := strings.CutPrefix(a, s.prefix())
	if !ok {
		return tagged{}, elbv2.Invalid(field, "'%s' is not a valid Elastic Load Balancing resource ARN", a)
	}
	at := s.at()
	switch {
	case strings.HasPrefix(rest, "loadbalancer/"):
		r, ok, err := s.lbs.Get(a)
		if err != nil || !ok {
			return tagged{}, notFoundOr(err, elbv2.LoadBalancerNotFound, a)
		}
		return tagged{r.Value.GetTags(), func(ctx context.Context, tags []*berthv1.ELBTag) error {
			v := proto.Clone(r.Value).(*berthv1.ELBLoadBalancerRecord)
			v.Tags = tags
			_, err := s.lbs.Put(ctx, at, a, v, r.Generation)
			return err
		}}, nil
	case strings.HasPrefix(rest, "targetgroup/"):
		r, ok, err := s.groups.Get(a)
		if err != nil || !ok {
			return tagged{}, notFoundOr(err, elbv2.TargetGroupNotFound, a)
		}
		return tagged{r.Value.GetTags(), func(ctx context.Context, tags []*berthv1.ELBTag) error {
			v := proto.Clone(r.Value).(*berthv1.ELBTargetGroupRecord)
			v.Tags = tags
			_, err := s.groups.Put(ctx, at, a, v, r.Generation)
			return err
		}}, nil
	case strings.HasPrefix(rest, "listener/"):
		r, ok, err := s.listeners.Get(a)
		if err != nil || !ok {
			return tagged{}, notFoundOr(err, elbv2.ListenerNotFound, a)
		}
		return tagged{r.Value.GetTags(), func(ctx context.Context, tags []*berthv1.ELBTag) error {
			v := proto.Clone(r.Value).(*berthv1.ELBListenerRecord)
			v.Tags = tags
			_, err := s.listeners.Put(ctx, at, a, v, r.Generation)
			return err
		}}, nil
	case strings.HasPrefix(rest, "listener-rule/"):
		r, ok, err := s.rules.Get(a)
		if err != nil || !ok {
			return tagged{}, notFoundOr(err, elbv2.RuleNotFound, a)
		}
		return tagged{r.Value.GetTags(), func(ctx context.Context, tags []*berthv1.ELBTag) error {
			v := proto.Clone(r.Value).(*berthv1.ELBRuleRecord)
			v.Tags = tags
			_, err := s.rules.Put(ctx, at, a, v, r.Generation)
			return err
		}}, nil
	}
	return tagged{}, elbv2.Invalid(field, "'%s' is not a load balancer, target group, listener or rule ARN", a)
}

func notFoundOr(err error, exception, a string) error {
	if err != nil {
		return err
	}
	return elbv2.NotFound(exception, a)
}

// AddTags adds tags to resources (a key present takes the new value).
func (s *Server) AddTags(ctx context.Context, req *berthv1.ELBAddTagsRequest) (*berthv1.ELBAddTagsResponse, error) {
	if len(req.GetResourceArns()) == 0 {
		return nil, elbv2.Invalid("ResourceArns", "at least one resource ARN must be specified")
	}
	if len(req.GetTags()) == 0 {
		return nil, elbv2.Invalid("Tags", "at least one tag must be specified")
	}
	if err := elbv2.CheckTags("Tags", req.GetTags()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range req.GetResourceArns() {
		r, err := s.resource(fmt.Sprintf("ResourceArns[%d]", i), a)
		if err != nil {
			return nil, err
		}
		tags, err := elbv2.MergeTags(r.tags, req.GetTags())
		if err != nil {
			return nil, err
		}
		if err := r.write(ctx, tags); err != nil {
			return nil, err
		}
	}
	return &berthv1.ELBAddTagsResponse{}, nil
}

// RemoveTags removes tag keys from resources.
func (s *Server) RemoveTags(ctx context.Context, req *berthv1.ELBRemoveTagsRequest) (*berthv1.ELBRemoveTagsResponse, error) {
	if len(req.GetResourceArns()) == 0 {
		return nil, elbv2.Invalid("ResourceArns", "at least one resource ARN must be specified")
	}
	if len(req.GetTagKeys()) == 0 {
		return nil, elbv2.Invalid("TagKeys", "at least one tag key must be specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range req.GetResourceArns() {
		r, err := s.resource(fmt.Sprintf("ResourceArns[%d]", i), a)
		if err != nil {
			return nil, err
		}
		if err := r.write(ctx, elbv2.RemoveTags(r.tags, req.GetTagKeys())); err != nil {
			return nil, err
		}
	}
	return &berthv1.ELBRemoveTagsResponse{}, nil
}

// DescribeTags lists the tags of up to 20 resources.
func (s *Server) DescribeTags(ctx context.Context, req *berthv1.ELBDescribeTagsRequest) (*berthv1.ELBDescribeTagsResponse, error) {
	if len(req.GetResourceArns()) == 0 || len(req.GetResourceArns()) > 20 {
		return nil, elbv2.Invalid("ResourceArns", "from 1 to 20 resource ARNs must be specified, %d were", len(req.GetResourceArns()))
	}
	out := &berthv1.ELBDescribeTagsResponse{TagDescriptions: []*berthv1.ELBTagDescription{}}
	for i, a := range req.GetResourceArns() {
		r, err := s.resource(fmt.Sprintf("ResourceArns[%d]", i), a)
		if err != nil {
			return nil, err
		}
		tags := r.tags
		if tags == nil {
			tags = []*berthv1.ELBTag{}
		}
		out.TagDescriptions = append(out.TagDescriptions, &berthv1.ELBTagDescription{ResourceArn: a, Tags: tags})
	}
	return out, nil
}
