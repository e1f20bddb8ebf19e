package elbv2api

import (
	"context"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

// targetOf is the target a service's task is in a group: an instance
// target by its instance ID, an ip target at loopback, where berth's hosts
// publish ports.
func targetOf(tg *berthv1.ELBTargetGroup, instanceID string, port int32) *berthv1.ELBTargetDescription {
	id := instanceID
	if tg.GetTargetType() == "ip" {
		id = "127.0.0.1"
	}
	return &berthv1.ELBTargetDescription{Id: id, Port: &port}
}

// find is the registered target of a group, nil if none.
func find(rec *berthv1.ELBTargetGroupRecord, t *berthv1.ELBTargetDescription, now time.Time) *berthv1.ELBRegisteredTarget {
	for _, r := range liveTargets(rec, now) {
		if r.GetId() == t.GetId() && r.GetPort() == t.GetPort() {
			return r
		}
	}
	return nil
}

// EnsureTarget registers a task's host port in a target group unless it is
// registered (or draining: a task on its way out is not registered again).
func (s *Server) EnsureTarget(ctx context.Context, tgArn, instanceID string, port int32) error {
	g, err := s.group("TargetGroupArn", tgArn)
	if err != nil {
		return err
	}
	t := targetOf(g.Value.GetTargetGroup(), instanceID, port)
	if find(g.Value, t, s.now()) != nil {
		return nil
	}
	_, err = s.RegisterTargets(ctx, &berthv1.ELBRegisterTargetsRequest{TargetGroupArn: tgArn, Targets: []*berthv1.ELBTargetDescription{t}})
	return err
}

// ReleaseTarget starts a task's target's deregistration delay and says when
// it ends (zero when the task is no target of the group).
func (s *Server) ReleaseTarget(ctx context.Context, tgArn, instanceID string, port int32) (time.Time, error) {
	g, err := s.group("TargetGroupArn", tgArn)
	if err != nil {
		return time.Time{}, err
	}
	t := targetOf(g.Value.GetTargetGroup(), instanceID, port)
	r := find(g.Value, t, s.now())
	if r == nil {
		return time.Time{}, nil
	}
	if r.GetDrainingUntil() > 0 {
		return fromSeconds(r.GetDrainingUntil()), nil
	}
	if _, err := s.DeregisterTargets(ctx, &berthv1.ELBDeregisterTargetsRequest{TargetGroupArn: tgArn, Targets: []*berthv1.ELBTargetDescription{t}}); err != nil {
		return time.Time{}, err
	}
	if g, err = s.group("TargetGroupArn", tgArn); err != nil {
		return time.Time{}, err
	}
	if r = find(g.Value, t, s.now()); r == nil || r.GetDrainingUntil() == 0 {
		return time.Time{}, nil // a delay of 0: gone at once
	}
	return fromSeconds(r.GetDrainingUntil()), nil
}

// TargetState is a task's target's health state ("" when it is no target
// of the group).
func (s *Server) TargetState(tgArn, instanceID string, port int32) string {
	g, err := s.group("TargetGroupArn", tgArn)
	if err != nil {
		return ""
	}
	t := targetOf(g.Value.GetTargetGroup(), instanceID, port)
	r := find(g.Value, t, s.now())
	if r == nil {
		return ""
	}
	h, _ := s.runtime.Health(tgArn, elbv2.TargetKey(t.GetId(), port))
	inUse := len(s.loadBalancersOf(tgArn)) > 0
	return elbv2.Describe(h, r.GetDrainingUntil() > 0, inUse, g.Value.GetTargetGroup().GetHealthCheckEnabled()).GetState()
}

// HasTargetGroup reports whether the target group of tgArn exists.
func (s *Server) HasTargetGroup(tgArn string) bool {
	_, err := s.group("TargetGroupArn", tgArn)
	return err == nil
}

// TargetGroupType is the target type of the target group of tgArn
// ("instance" or "ip"); ok false when there is no such group.
func (s *Server) TargetGroupType(tgArn string) (targetType string, ok bool) {
	g, err := s.group("TargetGroupArn", tgArn)
	if err != nil {
		return "", false
	}
	return g.Value.GetTargetGroup().GetTargetType(), true
}
