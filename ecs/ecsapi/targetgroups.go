package ecsapi

import (
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// checkSharedTargetGroups refuses a service's load balancer whose target
// group another live service (of any cluster) already uses with another
// container port: a target group's targets are one port of one kind of
// task, so the two services' tasks would answer for each other on the
// wrong port.
func (s *Server) checkSharedTargetGroups(cluster, name string, lbs []*berthv1.LoadBalancer) error {
	if len(lbs) == 0 {
		return nil
	}
	clusters, _, err := s.store.Clusters("", 1<<30)
	if err != nil {
		return err
	}
	for _, cl := range clusters {
		for _, other := range s.store.Services(cl, func(r *berthv1.ServiceRecord) bool { return r.Service.GetStatus() != store.StatusInactive }) {
			if cl == cluster && other.Service.GetServiceName() == name {
				continue
			}
			for _, theirs := range other.Service.GetLoadBalancers() {
				for i, lb := range lbs {
					if lb.GetTargetGroupArn() == "" || lb.GetTargetGroupArn() != theirs.GetTargetGroupArn() || lb.GetContainerPort() == theirs.GetContainerPort() {
						continue
					}
					return ecserr.Param(fmt.Sprintf("loadBalancers[%d].containerPort", i),
						"The target group %s is already used by the service %s with container port %d; a target group's services must use one container port, got %d.",
						lb.GetTargetGroupArn(), s.arns.Service(cl, other.Service.GetServiceName()), theirs.GetContainerPort(), lb.GetContainerPort())
				}
			}
		}
	}
	return nil
}

// checkTargetTypes refuses, in ECS's words, a target group whose target
// type the task definition's network mode cannot serve: an awsvpc task is
// an ip target (its own address), a bridge or host task an instance
// target (its instance's port). A target group berth's load balancing does
// not hold is not checked.
func (s *Server) checkTargetTypes(td *berthv1.TaskDefinition, lbs []*berthv1.LoadBalancer) error {
	if s.TargetGroupType == nil {
		return nil
	}
	mode := td.GetNetworkMode()
	if mode == "" {
		mode = "bridge" // ECS's default, which taskdef stores
	}
	for i, lb := range lbs {
		if lb.GetTargetGroupArn() == "" {
			continue
		}
		tt, ok := s.TargetGroupType(lb.GetTargetGroupArn())
		if !ok {
			continue
		}
		if mode == "awsvpc" && tt == "instance" || (mode == "bridge" || mode == "host") && tt == "ip" {
			text := ecserr.TextTargetTypeIncompatible(lb.GetTargetGroupArn(), tt, mode)
			return ecserr.Param(fmt.Sprintf("loadBalancers[%d].targetGroupArn", i), "%s", text).Says(text)
		}
	}
	return nil
}
