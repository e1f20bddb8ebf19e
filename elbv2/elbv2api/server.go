package elbv2api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/elbv2"
	"github.com/berth/berth/store"
)

// Runtime carries out the configuration: the listeners' proxy.
type Runtime interface {
	// Bind opens the listener's address before the listener is stored; an
	// error (the port is taken) leaves nothing open.
	Bind(listenerArn, addr string) error
	// Apply carries out cfg: listeners not in it are closed, those not yet
	// bound are bound, target groups and their health checkers follow.
	Apply(cfg elbv2.Config)
	// Health is the checker's view of a target of a group (key:
	// elbv2.TargetKey), ok false when the checker has none yet.
	Health(targetGroupArn, key string) (h elbv2.Health, ok bool)
}

// Server is berth.v1.ElasticLoadBalancingV2.
type Server struct {
	berthv1.UnimplementedElasticLoadBalancingV2Server // every method is implemented

	lbs       store.Collection[*berthv1.ELBLoadBalancerRecord]
	groups    store.Collection[*berthv1.ELBTargetGroupRecord]
	listeners store.Collection[*berthv1.ELBListenerRecord]
	rules     store.Collection[*berthv1.ELBRuleRecord]

	arns    arn.Namer
	bind    string
	runtime Runtime
	now     func() time.Time

	// mu serializes changes: ELB's uniqueness rules span records.
	mu sync.Mutex
}

// Options configure a Server.
type Options struct {
	// Bind is the host listeners bind ("127.0.0.1" when empty).
	Bind string
	// Runtime carries out the configuration; nil: nothing listens.
	Runtime Runtime
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// New serves ELB v2 over st.
func New(st *store.Store, arns arn.Namer, o Options) *Server {
	if o.Bind == "" {
		o.Bind = "127.0.0.1"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Runtime == nil {
		o.Runtime = noRuntime{}
	}
	return &Server{
		lbs:       store.Collection[*berthv1.ELBLoadBalancerRecord]{Store: st, Name: "elbv2-loadbalancers", New: func() *berthv1.ELBLoadBalancerRecord { return &berthv1.ELBLoadBalancerRecord{} }},
		groups:    store.Collection[*berthv1.ELBTargetGroupRecord]{Store: st, Name: "elbv2-targetgroups", New: func() *berthv1.ELBTargetGroupRecord { return &berthv1.ELBTargetGroupRecord{} }},
		listeners: store.Collection[*berthv1.ELBListenerRecord]{Store: st, Name: "elbv2-listeners", New: func() *berthv1.ELBListenerRecord { return &berthv1.ELBListenerRecord{} }},
		rules:     store.Collection[*berthv1.ELBRuleRecord]{Store: st, Name: "elbv2-rules", New: func() *berthv1.ELBRuleRecord { return &berthv1.ELBRuleRecord{} }},
		arns:      arns, bind: o.Bind, runtime: o.Runtime, now: o.Now,
	}
}

type noRuntime struct{}

func (noRuntime) Bind(string, string) error                  { return nil }
func (noRuntime) Apply(elbv2.Config)                         {}
func (noRuntime) Health(string, string) (elbv2.Health, bool) { return elbv2.Health{}, false }

// Start hands the stored configuration to the runtime (at the control
// plane's start).
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply()
}

func (s *Server) at() float64 { return float64(s.now().UnixMilli()) / 1000 }

func (s *Server) prefix() string {
	return "arn:aws:elasticloadbalancing:" + s.arns.Region + ":" + s.arns.Account + ":"
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// apply builds the Config from the records and hands it to the runtime.
func (s *Server) apply() error {
	cfg, err := s.Snapshot()
	if err != nil {
		return err
	}
	s.runtime.Apply(cfg)
	return nil
}

// Snapshot is the configuration the records describe.
func (s *Server) Snapshot() (elbv2.Config, error) {
	var cfg elbv2.Config
	inUse := map[string]bool{}
	err := s.listeners.List("", "", func(l store.Stored[*berthv1.ELBListenerRecord]) bool {
		lc := elbv2.ListenerConfig{Arn: l.Key, Addr: l.Value.GetBindAddress(), Port: l.Value.GetListener().GetPort(),
			Rules: []*berthv1.ELBRule{defaultRule(l.Value)}}
		cfg.Listeners = append(cfg.Listeners, lc)
		return true
	})
	if err != nil {
		return cfg, err
	}
	for i, lc := range cfg.Listeners {
		rules, err := s.listRules(lc.Arn)
		if err != nil {
			return cfg, err
		}
		for _, r := range rules {
			cfg.Listeners[i].Rules = append(cfg.Listeners[i].Rules, r.GetRule())
		}
		for _, r := range cfg.Listeners[i].Rules {
			for _, tg := range elbv2.TargetGroupsOf(r.GetActions()) {
				inUse[tg] = true
			}
		}
	}
	now := s.now()
	err = s.groups.List("", "", func(g store.Stored[*berthv1.ELBTargetGroupRecord]) bool {
		tg := g.Value.GetTargetGroup()
		gc := elbv2.GroupConfig{Arn: g.Key, TargetGroup: tg, InUse: inUse[g.Key],
			Algorithm: elbv2.Attribute(g.Value.GetAttributes(), elbv2.AttrAlgorithm)}
		for _, t := range liveTargets(g.Value, now) {
			tc := elbv2.TargetConfig{Key: elbv2.TargetKey(t.GetId(), t.GetPort()), Addr: elbv2.TargetAddr(tg.GetTargetType(), t.GetId(), t.GetPort())}
			if t.GetDrainingUntil() > 0 {
				tc.DrainingUntil = fromSeconds(t.GetDrainingUntil())
			}
			gc.Targets = append(gc.Targets, tc)
		}
		cfg.Groups = append(cfg.Groups, gc)
		return true
	})
	return cfg, err
}

func fromSeconds(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

// liveTargets are a group's targets, without those whose deregistration
// delay has ended.
func liveTargets(g *berthv1.ELBTargetGroupRecord, now time.Time) []*berthv1.ELBRegisteredTarget {
	var out []*berthv1.ELBRegisteredTarget
	for _, t := range g.GetTargets() {
		if t.GetDrainingUntil() > 0 && !fromSeconds(t.GetDrainingUntil()).After(now) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// defaultRule is a listener's default rule as DescribeRules shows it.
func defaultRule(l *berthv1.ELBListenerRecord) *berthv1.ELBRule {
	yes := true
	return &berthv1.ELBRule{RuleArn: l.GetDefaultRuleArn(), Priority: "default", Conditions: []*berthv1.ELBRuleCondition{},
		Actions: l.GetListener().GetDefaultActions(), IsDefault: &yes}
}

// rulePrefix is the key prefix of a listener's rules.
func rulePrefix(listenerArn string) string {
	return strings.Replace(listenerArn, ":listener/", ":listener-rule/", 1) + "/"
}

func (s *Server) listRules(listenerArn string) ([]*berthv1.ELBRuleRecord, error) {
	var out []*berthv1.ELBRuleRecord
	err := s.rules.List(rulePrefix(listenerArn), "", func(r store.Stored[*berthv1.ELBRuleRecord]) bool {
		out = append(out, r.Value)
		return true
	})
	return out, err
}

// ---- load balancers

// CreateLoadBalancer makes an application load balancer.
func (s *Server) CreateLoadBalancer(ctx context.Context, req *berthv1.ELBCreateLoadBalancerRequest) (*berthv1.ELBCreateLoadBalancerResponse, error) {
	if err := elbv2.CheckName("Name", req.GetName(), true); err != nil {
		return nil, err
	}
	if t := req.GetType(); t != "" && t != "application" {
		return nil, elbv2.Invalid("Type", "berth's load balancers are of type 'application', not '%s'", t)
	}
	scheme := req.GetScheme()
	if scheme == "" {
		scheme = "internet-facing"
	}
	if scheme != "internet-facing" && scheme != "internal" {
		return nil, elbv2.Invalid("Scheme", "'%s' must be 'internet-facing' or 'internal'", scheme)
	}
	ipType := req.GetIpAddressType()
	if ipType == "" {
		ipType = "ipv4"
	}
	if ipType != "ipv4" {
		return nil, elbv2.Invalid("IpAddressType", "berth's load balancers are 'ipv4', not '%s'", ipType)
	}
	if err := elbv2.CheckTags("Tags", req.GetTags()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var dup bool
	err := s.lbs.List("", "", func(r store.Stored[*berthv1.ELBLoadBalancerRecord]) bool {
		dup = r.Value.GetLoadBalancer().GetLoadBalancerName() == req.GetName()
		return !dup
	})
	if err != nil {
		return nil, err
	}
	if dup {
		return nil, elbv2.Duplicate(elbv2.DuplicateLoadBalancerName, "A load balancer with the same name '%s' exists", req.GetName())
	}
	id := newID()
	lbArn := s.prefix() + "loadbalancer/app/" + req.GetName() + "/" + id
	var zones []*berthv1.ELBAvailabilityZone
	for i, sub := range req.GetSubnets() {
		zones = append(zones, &berthv1.ELBAvailabilityZone{ZoneName: s.arns.Region + string(rune('a'+i%6)), SubnetId: sub})
	}
	if len(zones) == 0 {
		zones = []*berthv1.ELBAvailabilityZone{{ZoneName: s.arns.Region + "a"}, {ZoneName: s.arns.Region + "b"}}
	}
	dnsPrefix := req.GetName()
	if scheme == "internal" {
		dnsPrefix = "internal-" + dnsPrefix
	}
	lb := &berthv1.ELBLoadBalancer{
		LoadBalancerArn: lbArn, DnsName: fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", dnsPrefix, dnsNumber(id), s.arns.Region),
		CanonicalHostedZoneId: "Z35SXDOTRQ7X7K", CreatedTime: s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		LoadBalancerName: req.GetName(), Scheme: scheme, VpcId: elbv2.DefaultVPC,
		State: &berthv1.ELBLoadBalancerState{Code: "active"}, Type: "application", AvailabilityZones: zones,
		SecurityGroups: req.GetSecurityGroups(), IpAddressType: ipType,
	}
	if _, err := s.lbs.Put(ctx, s.at(), lbArn, &berthv1.ELBLoadBalancerRecord{LoadBalancer: lb, Tags: req.GetTags()}, 0); err != nil {
		return nil, err
	}
	return &berthv1.ELBCreateLoadBalancerResponse{LoadBalancers: []*berthv1.ELBLoadBalancer{lb}}, nil
}

// dnsNumber is the number in a load balancer's DNS name, from its id.
func dnsNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id[:8], 16, 64)
	return 1000000000 + n%1000000000
}

// DescribeLoadBalancers lists load balancers, all or by ARN or name.
func (s *Server) DescribeLoadBalancers(ctx context.Context, req *berthv1.ELBDescribeLoadBalancersRequest) (*berthv1.ELBDescribeLoadBalancersResponse, error) {
	if len(req.GetLoadBalancerArns()) > 0 && len(req.GetNames()) > 0 {
		return nil, elbv2.Invalid("Names", "Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	var all []*berthv1.ELBLoadBalancer
	err := s.lbs.List("", "", func(r store.Stored[*berthv1.ELBLoadBalancerRecord]) bool {
		all = append(all, r.Value.GetLoadBalancer())
		return true
	})
	if err != nil {
		return nil, err
	}
	out, err := pick(all, req.GetLoadBalancerArns(), req.GetNames(), elbv2.LoadBalancerNotFound,
		(*berthv1.ELBLoadBalancer).GetLoadBalancerArn, (*berthv1.ELBLoadBalancer).GetLoadBalancerName)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(out, req.GetMarker(), req.GetPageSize(), (*berthv1.ELBLoadBalancer).GetLoadBalancerArn)
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDescribeLoadBalancersResponse{LoadBalancers: page, NextMarker: next}, nil
}

// pick is the items named by ARN or name, in the order given; any missing
// is the notFound exception. None named: every item.
func pick[T any](all []T, arns, names []string, notFound string, arnOf, nameOf func(T) string) ([]T, error) {
	if len(arns) == 0 && len(names) == 0 {
		return all, nil
	}
	var out []T
	for _, want := range arns {
		found := false
		for _, it := range all {
			if arnOf(it) == want {
				out, found = append(out, it), true
				break
			}
		}
		if !found {
			return nil, elbv2.NotFound(notFound, want)
		}
	}
	for _, want := range names {
		found := false
		for _, it := range all {
			if nameOf(it) == want {
				out, found = append(out, it), true
				break
			}
		}
		if !found {
			return nil, elbv2.NotFound(notFound, want)
		}
	}
	return out, nil
}

// paginate is a page of items after the marker (the ARN of the last item of
// the previous page) and the next marker.
func paginate[T any](items []T, marker string, size int32, key func(T) string) ([]T, string, error) {
	if size != 0 && (size < 1 || size > 400) {
		return nil, "", elbv2.Invalid("PageSize", "%d must be from 1 to 400", size)
	}
	start := 0
	if marker != "" {
		start = -1
		for i, it := range items {
			if key(it) == marker {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, "", elbv2.Invalid("Marker", "'%s' is not a marker of this listing", marker)
		}
	}
	items = items[start:]
	if size == 0 || int(size) >= len(items) {
		return items, "", nil
	}
	return items[:size], key(items[size-1]), nil
}

// DeleteLoadBalancer deletes a load balancer with its listeners and rules;
// its target groups stay. A missing load balancer is no error, as in ELB.
func (s *Server) DeleteLoadBalancer(ctx context.Context, req *berthv1.ELBDeleteLoadBalancerRequest) (*berthv1.ELBDeleteLoadBalancerResponse, error) {
	if req.GetLoadBalancerArn() == "" {
		return nil, elbv2.Invalid("LoadBalancerArn", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lb, ok, err := s.lbs.Get(req.GetLoadBalancerArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		if !strings.HasPrefix(req.GetLoadBalancerArn(), s.prefix()+"loadbalancer/") {
			return nil, elbv2.Invalid("LoadBalancerArn", "'%s' is not a valid load balancer ARN", req.GetLoadBalancerArn())
		}
		return &berthv1.ELBDeleteLoadBalancerResponse{}, nil
	}
	writes := []*berthv1.DocumentWrite{s.lbs.DeleteWrite(lb.Key, lb.Generation)}
	lprefix := strings.Replace(lb.Key, ":loadbalancer/", ":listener/", 1) + "/"
	err = s.listeners.List(lprefix, "", func(l store.Stored[*berthv1.ELBListenerRecord]) bool {
		writes = append(writes, s.listeners.DeleteWrite(l.Key, l.Generation))
		return true
	})
	if err != nil {
		return nil, err
	}
	rprefix := strings.Replace(lb.Key, ":loadbalancer/", ":listener-rule/", 1) + "/"
	err = s.rules.List(rprefix, "", func(r store.Stored[*berthv1.ELBRuleRecord]) bool {
		writes = append(writes, s.rules.DeleteWrite(r.Key, r.Generation))
		return true
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.lbs.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.ELBDeleteLoadBalancerResponse{}, s.apply()
}

// ---- target groups

// CreateTargetGroup makes an HTTP target group.
func (s *Server) CreateTargetGroup(ctx context.Context, req *berthv1.ELBCreateTargetGroupRequest) (*berthv1.ELBCreateTargetGroupResponse, error) {
	tg, err := elbv2.NewTargetGroup(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var existing *berthv1.ELBTargetGroupRecord
	err = s.groups.List("", "", func(r store.Stored[*berthv1.ELBTargetGroupRecord]) bool {
		if r.Value.GetTargetGroup().GetTargetGroupName() == req.GetName() {
			existing = r.Value
		}
		return existing == nil
	})
	if err != nil {
		return nil, err
	}
	if existing != nil {
		// ELB answers a create with the same settings with the group itself.
		same := proto.Clone(existing.GetTargetGroup()).(*berthv1.ELBTargetGroup)
		same.TargetGroupArn, same.LoadBalancerArns = "", tg.LoadBalancerArns
		if proto.Equal(same, tg) {
			return &berthv1.ELBCreateTargetGroupResponse{TargetGroups: []*berthv1.ELBTargetGroup{s.describeGroup(existing)}}, nil
		}
		return nil, elbv2.Duplicate(elbv2.DuplicateTargetGroupName, "A target group with the same name '%s' exists, but with different settings", req.GetName())
	}
	tg.TargetGroupArn = s.prefix() + "targetgroup/" + req.GetName() + "/" + newID()
	rec := &berthv1.ELBTargetGroupRecord{TargetGroup: tg, Attributes: elbv2.DefaultAttributes(), Tags: req.GetTags()}
	if _, err := s.groups.Put(ctx, s.at(), tg.GetTargetGroupArn(), rec, 0); err != nil {
		return nil, err
	}
	return &berthv1.ELBCreateTargetGroupResponse{TargetGroups: []*berthv1.ELBTargetGroup{s.describeGroup(rec)}}, s.apply()
}

// describeGroup is a target group with the load balancers whose listeners
// forward to it.
func (s *Server) describeGroup(rec *berthv1.ELBTargetGroupRecord) *berthv1.ELBTargetGroup {
	tg := proto.Clone(rec.GetTargetGroup()).(*berthv1.ELBTargetGroup)
	tg.LoadBalancerArns = s.loadBalancersOf(tg.GetTargetGroupArn())
	return tg
}

// loadBalancersOf are the load balancers with a listener or rule that
// forwards to the target group.
func (s *Server) loadBalancersOf(tgArn string) []string {
	out := []string{}
	add := func(lb string) {
		for _, o := range out {
			if o == lb {
				return
			}
		}
		out = append(out, lb)
	}
	s.listeners.List("", "", func(l store.Stored[*berthv1.ELBListenerRecord]) bool {
		for _, a := range elbv2.TargetGroupsOf(l.Value.GetListener().GetDefaultActions()) {
			if a == tgArn {
				add(l.Value.GetListener().GetLoadBalancerArn())
			}
		}
		return true
	})
	s.rules.List("", "", func(r store.Stored[*berthv1.ELBRuleRecord]) bool {
		for _, a := range elbv2.TargetGroupsOf(r.Value.GetRule().GetActions()) {
			if a == tgArn {
				add(lbOfListener(r.Value.GetListenerArn()))
			}
		}
		return true
	})
	return out
}

// lbOfListener is the load balancer ARN of a listener ARN.
func lbOfListener(listenerArn string) string {
	s := strings.Replace(listenerArn, ":listener/", ":loadbalancer/", 1)
	return s[:strings.LastIndex(s, "/")]
}

// DescribeTargetGroups lists target groups: all, by ARN or name, or those
// of a load balancer.
func (s *Server) DescribeTargetGroups(ctx context.Context, req *berthv1.ELBDescribeTargetGroupsRequest) (*berthv1.ELBDescribeTargetGroupsResponse, error) {
	given := 0
	for _, b := range []bool{req.GetLoadBalancerArn() != "", len(req.GetTargetGroupArns()) > 0, len(req.GetNames()) > 0} {
		if b {
			given++
		}
	}
	if given > 1 {
		return nil, elbv2.Invalid("Names", "Only one of LoadBalancerArn, TargetGroupArns and Names can be specified")
	}
	if lb := req.GetLoadBalancerArn(); lb != "" {
		if _, ok, err := s.lbs.Get(lb); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			return nil, elbv2.NotFound(elbv2.LoadBalancerNotFound, lb)
		}
	}
	var all []*berthv1.ELBTargetGroup
	err := s.groups.List("", "", func(r store.Stored[*berthv1.ELBTargetGroupRecord]) bool {
		tg := s.describeGroup(r.Value)
		if lb := req.GetLoadBalancerArn(); lb != "" {
			found := false
			for _, a := range tg.GetLoadBalancerArns() {
				found = found || a == lb
			}
			if !found {
				return true
			}
		}
		all = append(all, tg)
		return true
	})
	if err != nil {
		return nil, err
	}
	out, err := pick(all, req.GetTargetGroupArns(), req.GetNames(), elbv2.TargetGroupNotFound,
		(*berthv1.ELBTargetGroup).GetTargetGroupArn, (*berthv1.ELBTargetGroup).GetTargetGroupName)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(out, req.GetMarker(), req.GetPageSize(), (*berthv1.ELBTargetGroup).GetTargetGroupArn)
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDescribeTargetGroupsResponse{TargetGroups: page, NextMarker: next}, nil
}

// group reads a target group by ARN.
func (s *Server) group(field, tgArn string) (store.Stored[*berthv1.ELBTargetGroupRecord], error) {
	if tgArn == "" {
		return store.Stored[*berthv1.ELBTargetGroupRecord]{}, elbv2.Invalid(field, "must not be empty")
	}
	g, ok, err := s.groups.Get(tgArn)
	if err != nil {
		return g, err
	}
	if !ok {
		return g, elbv2.NotFound(elbv2.TargetGroupNotFound, tgArn)
	}
	return g, nil
}

// updateGroup changes a target group under the lock and applies the result.
func (s *Server) updateGroup(ctx context.Context, tgArn string, change func(*berthv1.ELBTargetGroupRecord) error) (*berthv1.ELBTargetGroupRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group("TargetGroupArn", tgArn)
	if err != nil {
		return nil, err
	}
	rec := proto.Clone(g.Value).(*berthv1.ELBTargetGroupRecord)
	if err := change(rec); err != nil {
		return nil, err
	}
	rec.Targets = liveTargets(rec, s.now())
	if _, err := s.groups.Put(ctx, s.at(), tgArn, rec, g.Generation); err != nil {
		return nil, err
	}
	return rec, s.apply()
}

// ModifyTargetGroup changes a target group's health check.
func (s *Server) ModifyTargetGroup(ctx context.Context, req *berthv1.ELBModifyTargetGroupRequest) (*berthv1.ELBModifyTargetGroupResponse, error) {
	rec, err := s.updateGroup(ctx, req.GetTargetGroupArn(), func(rec *berthv1.ELBTargetGroupRecord) error {
		tg, err := elbv2.ModifyTargetGroup(rec.GetTargetGroup(), req)
		rec.TargetGroup = tg
		return err
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBModifyTargetGroupResponse{TargetGroups: []*berthv1.ELBTargetGroup{s.describeGroup(rec)}}, nil
}

// ModifyTargetGroupAttributes sets target group attributes.
func (s *Server) ModifyTargetGroupAttributes(ctx context.Context, req *berthv1.ELBModifyTargetGroupAttributesRequest) (*berthv1.ELBModifyTargetGroupAttributesResponse, error) {
	rec, err := s.updateGroup(ctx, req.GetTargetGroupArn(), func(rec *berthv1.ELBTargetGroupRecord) error {
		attrs, err := elbv2.ApplyAttributes(rec.GetAttributes(), req.GetAttributes())
		rec.Attributes = attrs
		return err
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBModifyTargetGroupAttributesResponse{Attributes: rec.GetAttributes()}, nil
}

// DescribeTargetGroupAttributes lists a target group's attributes.
func (s *Server) DescribeTargetGroupAttributes(ctx context.Context, req *berthv1.ELBDescribeTargetGroupAttributesRequest) (*berthv1.ELBDescribeTargetGroupAttributesResponse, error) {
	g, err := s.group("TargetGroupArn", req.GetTargetGroupArn())
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDescribeTargetGroupAttributesResponse{Attributes: g.Value.GetAttributes()}, nil
}

// DeleteTargetGroup deletes a target group no listener or rule uses.
func (s *Server) DeleteTargetGroup(ctx context.Context, req *berthv1.ELBDeleteTargetGroupRequest) (*berthv1.ELBDeleteTargetGroupResponse, error) {
	if req.GetTargetGroupArn() == "" {
		return nil, elbv2.Invalid("TargetGroupArn", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok, err := s.groups.Get(req.GetTargetGroupArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		return &berthv1.ELBDeleteTargetGroupResponse{}, nil // ELB: deleting a missing group succeeds
	}
	if lbs := s.loadBalancersOf(g.Key); len(lbs) > 0 {
		return nil, elbv2.InUse("Target group '%s' is currently in use by a listener or a rule", g.Key)
	}
	if err := s.groups.Delete(ctx, s.at(), g.Key, g.Generation); err != nil {
		return nil, err
	}
	return &berthv1.ELBDeleteTargetGroupResponse{}, s.apply()
}

// maxTargets bounds a target group's targets.
const maxTargets = 1000

// RegisterTargets adds targets to a group (a draining target is registered
// again).
func (s *Server) RegisterTargets(ctx context.Context, req *berthv1.ELBRegisterTargetsRequest) (*berthv1.ELBRegisterTargetsResponse, error) {
	if len(req.GetTargets()) == 0 {
		return nil, elbv2.Invalid("Targets", "at least one target must be specified")
	}
	_, err := s.updateGroup(ctx, req.GetTargetGroupArn(), func(rec *berthv1.ELBTargetGroupRecord) error {
		tg := rec.GetTargetGroup()
		for i, t := range req.GetTargets() {
			port, err := elbv2.CheckTarget(fmt.Sprintf("Targets[%d]", i), tg.GetTargetType(), t, tg.GetPort())
			if err != nil {
				return err
			}
			found := false
			for _, o := range rec.Targets {
				if o.GetId() == t.GetId() && o.GetPort() == port {
					o.DrainingUntil, found = 0, true
				}
			}
			if !found {
				rec.Targets = append(rec.Targets, &berthv1.ELBRegisteredTarget{Id: t.GetId(), Port: port, AvailabilityZone: t.GetAvailabilityZone(), RegisteredAt: s.at()})
			}
		}
		if len(rec.Targets) > maxTargets {
			return elbv2.Conflict("TooManyTargets", "You've reached the limit on the number of targets per target group (%d)", maxTargets)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBRegisterTargetsResponse{}, nil
}

// DeregisterTargets starts the deregistration delay of targets: they take
// no new requests, and leave the group when it ends.
func (s *Server) DeregisterTargets(ctx context.Context, req *berthv1.ELBDeregisterTargetsRequest) (*berthv1.ELBDeregisterTargetsResponse, error) {
	if len(req.GetTargets()) == 0 {
		return nil, elbv2.Invalid("Targets", "at least one target must be specified")
	}
	_, err := s.updateGroup(ctx, req.GetTargetGroupArn(), func(rec *berthv1.ELBTargetGroupRecord) error {
		until := s.at() + float64(elbv2.DeregistrationDelay(rec.GetAttributes()))
		rec.Targets = liveTargets(rec, s.now())
		for i, t := range req.GetTargets() {
			port, err := elbv2.CheckTarget(fmt.Sprintf("Targets[%d]", i), rec.GetTargetGroup().GetTargetType(), t, rec.GetTargetGroup().GetPort())
			if err != nil {
				return err
			}
			found := false
			for _, o := range rec.Targets {
				if o.GetId() == t.GetId() && o.GetPort() == port {
					found = true
					if o.GetDrainingUntil() == 0 {
						o.DrainingUntil = until
					}
				}
			}
			if !found {
				return elbv2.Conflict(elbv2.InvalidTarget, "The following targets are not registered in target group '%s': '%s'", rec.GetTargetGroup().GetTargetGroupArn(), t.GetId())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDeregisterTargetsResponse{}, nil
}

// DescribeTargetHealth is the health of a group's targets, all or those
// named.
func (s *Server) DescribeTargetHealth(ctx context.Context, req *berthv1.ELBDescribeTargetHealthRequest) (*berthv1.ELBDescribeTargetHealthResponse, error) {
	g, err := s.group("TargetGroupArn", req.GetTargetGroupArn())
	if err != nil {
		return nil, err
	}
	tg := g.Value.GetTargetGroup()
	inUse := len(s.loadBalancersOf(g.Key)) > 0
	live := liveTargets(g.Value, s.now())
	describe := func(t *berthv1.ELBRegisteredTarget) *berthv1.ELBTargetHealthDescription {
		port := t.GetPort()
		h, _ := s.runtime.Health(g.Key, elbv2.TargetKey(t.GetId(), port))
		hcPort := tg.GetHealthCheckPort()
		if hcPort == "traffic-port" {
			hcPort = strconv.Itoa(int(port))
		}
		return &berthv1.ELBTargetHealthDescription{
			Target:          &berthv1.ELBTargetDescription{Id: t.GetId(), Port: &port, AvailabilityZone: t.GetAvailabilityZone()},
			HealthCheckPort: hcPort,
			TargetHealth:    elbv2.Describe(h, t.GetDrainingUntil() > 0, inUse, tg.GetHealthCheckEnabled()),
		}
	}
	out := &berthv1.ELBDescribeTargetHealthResponse{TargetHealthDescriptions: []*berthv1.ELBTargetHealthDescription{}}
	if len(req.GetTargets()) == 0 {
		sort.SliceStable(live, func(i, j int) bool { return live[i].GetRegisteredAt() < live[j].GetRegisteredAt() })
		for _, t := range live {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(t))
		}
		return out, nil
	}
	for i, want := range req.GetTargets() {
		port, err := elbv2.CheckTarget(fmt.Sprintf("Targets[%d]", i), tg.GetTargetType(), want, tg.GetPort())
		if err != nil {
			return nil, err
		}
		var found *berthv1.ELBRegisteredTarget
		for _, t := range live {
			if t.GetId() == want.GetId() && t.GetPort() == port {
				found = t
			}
		}
		if found == nil {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, &berthv1.ELBTargetHealthDescription{
				Target: &berthv1.ELBTargetDescription{Id: want.GetId(), Port: &port}, HealthCheckPort: strconv.Itoa(int(port)),
				TargetHealth: elbv2.NotRegistered()})
			continue
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(found))
	}
	return out, nil
}

// ---- listeners

// CreateListener adds an HTTP listener to a load balancer: its port is
// bound on the load balancers' address before it is stored.
func (s *Server) CreateListener(ctx context.Context, req *berthv1.ELBCreateListenerRequest) (*berthv1.ELBCreateListenerResponse, error) {
	if req.GetLoadBalancerArn() == "" {
		return nil, elbv2.Invalid("LoadBalancerArn", "must not be empty")
	}
	protocol := req.GetProtocol()
	if protocol == "" {
		protocol = "HTTP"
	}
	if protocol != "HTTP" {
		return nil, elbv2.Conflict(elbv2.UnsupportedProtocol, "berth's listeners speak HTTP, not '%s'", protocol)
	}
	if req.Port == nil {
		return nil, elbv2.Invalid("Port", "a port must be specified for an application load balancer's listener")
	}
	if p := req.GetPort(); p < 1 || p > 65535 {
		return nil, elbv2.Invalid("Port", "%d must be from 1 to 65535", p)
	}
	if len(req.GetCertificates()) > 0 || req.GetSslPolicy() != "" {
		return nil, elbv2.Invalid("Certificates", "an HTTP listener takes no certificates or SSL policy")
	}
	if err := elbv2.CheckTags("Tags", req.GetTags()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lb, ok, err := s.lbs.Get(req.GetLoadBalancerArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, elbv2.NotFound(elbv2.LoadBalancerNotFound, req.GetLoadBalancerArn())
	}
	actions, err := elbv2.NormalizeActions("DefaultActions", req.GetDefaultActions(), s.groupExists)
	if err != nil {
		return nil, err
	}
	lprefix := strings.Replace(lb.Key, ":loadbalancer/", ":listener/", 1) + "/"
	var dup bool
	err = s.listeners.List(lprefix, "", func(l store.Stored[*berthv1.ELBListenerRecord]) bool {
		dup = l.Value.GetListener().GetPort() == req.GetPort()
		return !dup
	})
	if err != nil {
		return nil, err
	}
	if dup {
		return nil, elbv2.Duplicate(elbv2.DuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.Key)
	}
	listenerArn := lprefix + newID()
	addr := net.JoinHostPort(s.bind, strconv.Itoa(int(req.GetPort())))
	if err := s.runtime.Bind(listenerArn, addr); err != nil {
		return nil, elbv2.Conflict(elbv2.InvalidConfiguration, "listener port %d cannot be opened on %s: %v", req.GetPort(), addr, err)
	}
	l := &berthv1.ELBListener{ListenerArn: listenerArn, LoadBalancerArn: lb.Key, Port: req.GetPort(), Protocol: protocol, DefaultActions: actions}
	rec := &berthv1.ELBListenerRecord{Listener: l, Tags: req.GetTags(), BindAddress: addr,
		DefaultRuleArn: strings.Replace(listenerArn, ":listener/", ":listener-rule/", 1) + "/" + newID()}
	if _, err := s.listeners.Put(ctx, s.at(), listenerArn, rec, 0); err != nil {
		s.apply() // closes the port bound for the listener that was not stored
		return nil, err
	}
	return &berthv1.ELBCreateListenerResponse{Listeners: []*berthv1.ELBListener{l}}, s.apply()
}

func (s *Server) groupExists(tgArn string) bool {
	_, ok, err := s.groups.Get(tgArn)
	return err == nil && ok
}

// DescribeListeners lists a load balancer's listeners, or listeners by ARN.
func (s *Server) DescribeListeners(ctx context.Context, req *berthv1.ELBDescribeListenersRequest) (*berthv1.ELBDescribeListenersResponse, error) {
	if (req.GetLoadBalancerArn() == "") == (len(req.GetListenerArns()) == 0) {
		return nil, elbv2.Invalid("LoadBalancerArn", "You must specify either listener ARNs or a load balancer ARN")
	}
	var out []*berthv1.ELBListener
	if lbArn := req.GetLoadBalancerArn(); lbArn != "" {
		if _, ok, err := s.lbs.Get(lbArn); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			return nil, elbv2.NotFound(elbv2.LoadBalancerNotFound, lbArn)
		}
		err := s.listeners.List(strings.Replace(lbArn, ":loadbalancer/", ":listener/", 1)+"/", "", func(l store.Stored[*berthv1.ELBListenerRecord]) bool {
			out = append(out, l.Value.GetListener())
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	for _, a := range req.GetListenerArns() {
		l, ok, err := s.listeners.Get(a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, elbv2.NotFound(elbv2.ListenerNotFound, a)
		}
		out = append(out, l.Value.GetListener())
	}
	page, next, err := paginate(out, req.GetMarker(), req.GetPageSize(), (*berthv1.ELBListener).GetListenerArn)
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDescribeListenersResponse{Listeners: page, NextMarker: next}, nil
}

// DeleteListener deletes a listener and its rules and closes its port.
func (s *Server) DeleteListener(ctx context.Context, req *berthv1.ELBDeleteListenerRequest) (*berthv1.ELBDeleteListenerResponse, error) {
	if req.GetListenerArn() == "" {
		return nil, elbv2.Invalid("ListenerArn", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok, err := s.listeners.Get(req.GetListenerArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, elbv2.NotFound(elbv2.ListenerNotFound, req.GetListenerArn())
	}
	writes := []*berthv1.DocumentWrite{s.listeners.DeleteWrite(l.Key, l.Generation)}
	err = s.rules.List(rulePrefix(l.Key), "", func(r store.Stored[*berthv1.ELBRuleRecord]) bool {
		writes = append(writes, s.rules.DeleteWrite(r.Key, r.Generation))
		return true
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.listeners.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.ELBDeleteListenerResponse{}, s.apply()
}

// ---- rules

// CreateRule adds a rule to a listener at a priority no other rule of the
// listener has.
func (s *Server) CreateRule(ctx context.Context, req *berthv1.ELBCreateRuleRequest) (*berthv1.ELBCreateRuleResponse, error) {
	if req.GetListenerArn() == "" {
		return nil, elbv2.Invalid("ListenerArn", "must not be empty")
	}
	if req.Priority == nil {
		return nil, elbv2.Invalid("Priority", "a priority must be specified")
	}
	if err := elbv2.CheckPriority("Priority", req.GetPriority()); err != nil {
		return nil, err
	}
	conds, err := elbv2.NormalizeConditions("Conditions", req.GetConditions())
	if err != nil {
		return nil, err
	}
	if err := elbv2.CheckTags("Tags", req.GetTags()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok, err := s.listeners.Get(req.GetListenerArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, elbv2.NotFound(elbv2.ListenerNotFound, req.GetListenerArn())
	}
	actions, err := elbv2.NormalizeActions("Actions", req.GetActions(), s.groupExists)
	if err != nil {
		return nil, err
	}
	rules, err := s.listRules(l.Key)
	if err != nil {
		return nil, err
	}
	prio := strconv.Itoa(int(req.GetPriority()))
	for _, r := range rules {
		if r.GetRule().GetPriority() == prio {
			return nil, elbv2.Conflict(elbv2.PriorityInUse, "Priority '%s' is currently in use", prio)
		}
	}
	no := false
	rule := &berthv1.ELBRule{RuleArn: rulePrefix(l.Key) + newID(), Priority: prio, Conditions: conds, Actions: actions, IsDefault: &no}
	rec := &berthv1.ELBRuleRecord{Rule: rule, ListenerArn: l.Key, Tags: req.GetTags()}
	if _, err := s.rules.Put(ctx, s.at(), rule.GetRuleArn(), rec, 0); err != nil {
		return nil, err
	}
	return &berthv1.ELBCreateRuleResponse{Rules: []*berthv1.ELBRule{rule}}, s.apply()
}

// DescribeRules lists a listener's rules (its default rule last), or rules
// by ARN.
func (s *Server) DescribeRules(ctx context.Context, req *berthv1.ELBDescribeRulesRequest) (*berthv1.ELBDescribeRulesResponse, error) {
	if (req.GetListenerArn() == "") == (len(req.GetRuleArns()) == 0) {
		return nil, elbv2.Invalid("ListenerArn", "You must specify either listener ARN or rule ARNs")
	}
	var out []*berthv1.ELBRule
	if la := req.GetListenerArn(); la != "" {
		l, ok, err := s.listeners.Get(la)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, elbv2.NotFound(elbv2.ListenerNotFound, la)
		}
		rules, err := s.listRules(la)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			out = append(out, r.GetRule())
		}
		out = append(elbv2.SortRules(out), defaultRule(l.Value))
	}
	for _, a := range req.GetRuleArns() {
		r, err := s.rule(a)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	page, next, err := paginate(out, req.GetMarker(), req.GetPageSize(), (*berthv1.ELBRule).GetRuleArn)
	if err != nil {
		return nil, err
	}
	return &berthv1.ELBDescribeRulesResponse{Rules: page, NextMarker: next}, nil
}

// rule is a rule by ARN: a stored rule or a listener's default rule.
func (s *Server) rule(ruleArn string) (*berthv1.ELBRule, error) {
	r, ok, err := s.rules.Get(ruleArn)
	if err != nil {
		return nil, err
	}
	if ok {
		return r.Value.GetRule(), nil
	}
	if l, ok := s.listenerOfDefault(ruleArn); ok {
		return defaultRule(l.Value), nil
	}
	return nil, elbv2.NotFound(elbv2.RuleNotFound, ruleArn)
}

// listenerOfDefault is the listener whose default rule is ruleArn.
func (s *Server) listenerOfDefault(ruleArn string) (store.Stored[*berthv1.ELBListenerRecord], bool) {
	i := strings.LastIndex(ruleArn, "/")
	if i < 0 {
		return store.Stored[*berthv1.ELBListenerRecord]{}, false
	}
	la := strings.Replace(ruleArn[:i], ":listener-rule/", ":listener/", 1)
	l, ok, err := s.listeners.Get(la)
	if err != nil || !ok || l.Value.GetDefaultRuleArn() != ruleArn {
		return l, false
	}
	return l, true
}

// DeleteRule deletes a rule; a default rule cannot be deleted.
func (s *Server) DeleteRule(ctx context.Context, req *berthv1.ELBDeleteRuleRequest) (*berthv1.ELBDeleteRuleResponse, error) {
	if req.GetRuleArn() == "" {
		return nil, elbv2.Invalid("RuleArn", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok, err := s.rules.Get(req.GetRuleArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		if _, isDefault := s.listenerOfDefault(req.GetRuleArn()); isDefault {
			return nil, elbv2.Conflict(elbv2.OperationNotPermitted, "Default rule '%s' cannot be deleted", req.GetRuleArn())
		}
		return nil, elbv2.NotFound(elbv2.RuleNotFound, req.GetRuleArn())
	}
	if err := s.rules.Delete(ctx, s.at(), r.Key, r.Generation); err != nil {
		return nil, err
	}
	return &berthv1.ELBDeleteRuleResponse{}, s.apply()
}

// ModifyRule replaces a rule's conditions or actions; a default rule's
// actions are its listener's default actions.
func (s *Server) ModifyRule(ctx context.Context, req *berthv1.ELBModifyRuleRequest) (*berthv1.ELBModifyRuleResponse, error) {
	if req.GetRuleArn() == "" {
		return nil, elbv2.Invalid("RuleArn", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var conds []*berthv1.ELBRuleCondition
	var actions []*berthv1.ELBAction
	var err error
	if len(req.GetConditions()) > 0 {
		if conds, err = elbv2.NormalizeConditions("Conditions", req.GetConditions()); err != nil {
			return nil, err
		}
	}
	if len(req.GetActions()) > 0 {
		if actions, err = elbv2.NormalizeActions("Actions", req.GetActions(), s.groupExists); err != nil {
			return nil, err
		}
	}
	r, ok, err := s.rules.Get(req.GetRuleArn())
	if err != nil {
		return nil, err
	}
	if !ok {
		l, isDefault := s.listenerOfDefault(req.GetRuleArn())
		if !isDefault {
			return nil, elbv2.NotFound(elbv2.RuleNotFound, req.GetRuleArn())
		}
		if conds != nil {
			return nil, elbv2.Conflict(elbv2.OperationNotPermitted, "The default rule '%s' cannot have conditions", req.GetRuleArn())
		}
		rec := proto.Clone(l.Value).(*berthv1.ELBListenerRecord)
		if actions != nil {
			rec.Listener.DefaultActions = actions
		}
		if _, err := s.listeners.Put(ctx, s.at(), l.Key, rec, l.Generation); err != nil {
			return nil, err
		}
		return &berthv1.ELBModifyRuleResponse{Rules: []*berthv1.ELBRule{defaultRule(rec)}}, s.apply()
	}
	rec := proto.Clone(r.Value).(*berthv1.ELBRuleRecord)
	if conds != nil {
		rec.Rule.Conditions = conds
	}
	if actions != nil {
		rec.Rule.Actions = actions
	}
	if _, err := s.rules.Put(ctx, s.at(), r.Key, rec, r.Generation); err != nil {
		return nil, err
	}
	return &berthv1.ELBModifyRuleResponse{Rules: []*berthv1.ELBRule{rec.GetRule()}}, s.apply()
}
