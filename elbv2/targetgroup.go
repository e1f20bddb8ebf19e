package elbv2

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// The target group attributes berth acts on, with ELB's defaults.
const (
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	AttrAlgorithm           = "load_balancing.algorithm.type"
	AttrStickiness          = "stickiness.enabled"
	AttrStickinessType      = "stickiness.type"
	AttrSlowStart           = "slow_start.duration_seconds"

	RoundRobin               = "round_robin"
	LeastOutstandingRequests = "least_outstanding_requests"
)

// DefaultAttributes are a new HTTP target group's attributes, as
// DescribeTargetGroupAttributes lists them.
func DefaultAttributes() []*berthv1.ELBTargetGroupAttribute {
	return []*berthv1.ELBTargetGroupAttribute{
		{Key: AttrDeregistrationDelay, Value: "300"},
		{Key: AttrAlgorithm, Value: RoundRobin},
		{Key: AttrSlowStart, Value: "0"},
		{Key: AttrStickiness, Value: "false"},
		{Key: AttrStickinessType, Value: "lb_cookie"},
	}
}

// Attribute is the value of key in attrs, or "".
func Attribute(attrs []*berthv1.ELBTargetGroupAttribute, key string) string {
	for _, a := range attrs {
		if a.GetKey() == key {
			return a.GetValue()
		}
	}
	return ""
}

// DeregistrationDelay is the target group's deregistration delay in seconds.
func DeregistrationDelay(attrs []*berthv1.ELBTargetGroupAttribute) int {
	n, err := strconv.Atoi(Attribute(attrs, AttrDeregistrationDelay))
	if err != nil {
		return 300
	}
	return n
}

// ApplyAttributes checks the attributes to set and returns attrs with them.
func ApplyAttributes(attrs, set []*berthv1.ELBTargetGroupAttribute) ([]*berthv1.ELBTargetGroupAttribute, error) {
	if len(set) == 0 {
		return nil, Invalid("Attributes", "must name at least one attribute")
	}
	out := make([]*berthv1.ELBTargetGroupAttribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, proto.Clone(a).(*berthv1.ELBTargetGroupAttribute))
	}
	for i, a := range set {
		field := fmt.Sprintf("Attributes[%d]", i)
		if err := checkAttribute(field, a.GetKey(), a.GetValue()); err != nil {
			return nil, err
		}
		found := false
		for _, o := range out {
			if o.GetKey() == a.GetKey() {
				o.Value, found = a.GetValue(), true
			}
		}
		if !found {
			out = append(out, &berthv1.ELBTargetGroupAttribute{Key: a.GetKey(), Value: a.GetValue()})
		}
	}
	return out, nil
}

func checkAttribute(field, key, value string) error {
	intIn := func(lo, hi int) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < lo || n > hi {
			return Invalid(field+".Value", "'%s' must be an integer from %d to %d for attribute '%s'", value, lo, hi, key)
		}
		return nil
	}
	switch key {
	case AttrDeregistrationDelay:
		return intIn(0, 3600)
	case AttrSlowStart:
		if value != "0" {
			if err := intIn(30, 900); err != nil {
				return err
			}
		}
		return nil
	case AttrAlgorithm:
		if value != RoundRobin && value != LeastOutstandingRequests {
			return Invalid(field+".Value", "'%s' must be '%s' or '%s'", value, RoundRobin, LeastOutstandingRequests)
		}
		return nil
	case AttrStickiness:
		if value != "false" {
			return Invalid(field+".Value", "berth's load balancers do not keep sessions sticky: '%s' must be 'false'", key)
		}
		return nil
	case AttrStickinessType:
		if value != "lb_cookie" && value != "app_cookie" {
			return Invalid(field+".Value", "'%s' must be 'lb_cookie' or 'app_cookie'", value)
		}
		return nil
	}
	return Invalid(field+".Key", "target group attribute key '%s' is not recognized", key)
}

// NewTargetGroup checks a CreateTargetGroup request and returns the target
// group it makes, with ELB's defaults filled in (arn and name set by the
// caller).
func NewTargetGroup(req *berthv1.ELBCreateTargetGroupRequest) (*berthv1.ELBTargetGroup, error) {
	if err := CheckName("Name", req.GetName(), false); err != nil {
		return nil, err
	}
	if err := CheckTags("Tags", req.GetTags()); err != nil {
		return nil, err
	}
	tt := req.GetTargetType()
	if tt == "" {
		tt = "instance"
	}
	if tt != "instance" && tt != "ip" {
		return nil, Invalid("TargetType", "berth's target groups have targets of type 'instance' or 'ip', not '%s'", tt)
	}
	protocol := req.GetProtocol()
	if protocol == "" {
		return nil, Invalid("Protocol", "a protocol must be specified for a target group of target type '%s'", tt)
	}
	if protocol != "HTTP" {
		return nil, Conflict(UnsupportedProtocol, "berth's target groups speak HTTP, not '%s'", protocol)
	}
	if req.Port == nil {
		return nil, Invalid("Port", "a port must be specified for a target group of target type '%s'", tt)
	}
	if err := checkPort("Port", req.GetPort()); err != nil {
		return nil, err
	}
	version := req.GetProtocolVersion()
	if version == "" {
		version = "HTTP1"
	}
	if version != "HTTP1" {
		return nil, Invalid("ProtocolVersion", "berth's target groups speak HTTP1, not '%s'", version)
	}
	if v := req.GetIpAddressType(); v != "" && v != "ipv4" {
		return nil, Invalid("IpAddressType", "berth's target groups are 'ipv4', not '%s'", v)
	}
	tg := &berthv1.ELBTargetGroup{
		TargetGroupName: req.GetName(), Protocol: protocol, Port: req.GetPort(), VpcId: req.GetVpcId(),
		HealthCheckProtocol: "HTTP", HealthCheckPort: "traffic-port", HealthCheckEnabled: proto3Bool(true),
		HealthCheckIntervalSeconds: 30, HealthCheckTimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2,
		HealthCheckPath: "/", Matcher: &berthv1.ELBMatcher{HttpCode: "200"}, TargetType: tt, ProtocolVersion: version,
		IpAddressType: "ipv4", LoadBalancerArns: []string{},
	}
	if tg.VpcId == "" {
		tg.VpcId = DefaultVPC
	}
	mod := &berthv1.ELBModifyTargetGroupRequest{
		HealthCheckProtocol: req.GetHealthCheckProtocol(), HealthCheckPort: req.GetHealthCheckPort(), HealthCheckPath: req.GetHealthCheckPath(),
		HealthCheckEnabled: req.HealthCheckEnabled, HealthCheckIntervalSeconds: req.HealthCheckIntervalSeconds,
		HealthCheckTimeoutSeconds: req.HealthCheckTimeoutSeconds, HealthyThresholdCount: req.HealthyThresholdCount,
		UnhealthyThresholdCount: req.UnhealthyThresholdCount, Matcher: req.GetMatcher(),
	}
	return ModifyTargetGroup(tg, mod)
}

// DefaultVPC is the VPC berth's resources are in when none is named.
const DefaultVPC = "vpc-00000000000000000"

func proto3Bool(b bool) *bool { return &b }

func checkPort(field string, p int32) error {
	if p < 1 || p > 65535 {
		return Invalid(field, "%d must be from 1 to 65535", p)
	}
	return nil
}

// ModifyTargetGroup returns tg with the request's health check settings,
// checked as ELB checks them.
func ModifyTargetGroup(old *berthv1.ELBTargetGroup, req *berthv1.ELBModifyTargetGroupRequest) (*berthv1.ELBTargetGroup, error) {
	tg := proto.Clone(old).(*berthv1.ELBTargetGroup)
	if v := req.GetHealthCheckProtocol(); v != "" {
		if v != "HTTP" {
			return nil, Invalid("HealthCheckProtocol", "berth checks targets' health over HTTP, not '%s'", v)
		}
		tg.HealthCheckProtocol = v
	}
	if v := req.GetHealthCheckPort(); v != "" {
		if v != "traffic-port" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return nil, Invalid("HealthCheckPort", "'%s' must be 'traffic-port' or a port from 1 to 65535", v)
			}
		}
		tg.HealthCheckPort = v
	}
	if v := req.GetHealthCheckPath(); v != "" {
		if !strings.HasPrefix(v, "/") || len(v) > 1024 {
			return nil, Invalid("HealthCheckPath", "'%s' must begin with '/' and be at most 1024 characters", v)
		}
		tg.HealthCheckPath = v
	}
	if req.HealthCheckEnabled != nil {
		tg.HealthCheckEnabled = proto3Bool(req.GetHealthCheckEnabled())
	}
	if req.HealthCheckIntervalSeconds != nil {
		if v := req.GetHealthCheckIntervalSeconds(); v < 5 || v > 300 {
			return nil, Invalid("HealthCheckIntervalSeconds", "%d must be from 5 to 300", v)
		}
		tg.HealthCheckIntervalSeconds = req.GetHealthCheckIntervalSeconds()
	}
	if req.HealthCheckTimeoutSeconds != nil {
		if v := req.GetHealthCheckTimeoutSeconds(); v < 2 || v > 120 {
			return nil, Invalid("HealthCheckTimeoutSeconds", "%d must be from 2 to 120", v)
		}
		tg.HealthCheckTimeoutSeconds = req.GetHealthCheckTimeoutSeconds()
	}
	if tg.HealthCheckTimeoutSeconds >= tg.HealthCheckIntervalSeconds {
		return nil, Conflict(InvalidConfiguration, "Health check timeout '%d' must be smaller than the interval '%d'", tg.HealthCheckTimeoutSeconds, tg.HealthCheckIntervalSeconds)
	}
	for _, c := range []struct {
		field string
		v     *int32
		dst   *int32
	}{{"HealthyThresholdCount", req.HealthyThresholdCount, &tg.HealthyThresholdCount}, {"UnhealthyThresholdCount", req.UnhealthyThresholdCount, &tg.UnhealthyThresholdCount}} {
		if c.v != nil {
			if *c.v < 2 || *c.v > 10 {
				return nil, Invalid(c.field, "%d must be from 2 to 10", *c.v)
			}
			*c.dst = *c.v
		}
	}
	if m := req.GetMatcher(); m != nil {
		if m.GetGrpcCode() != "" {
			return nil, Invalid("Matcher.GrpcCode", "a target group of protocol version HTTP1 matches HTTP codes, not gRPC codes")
		}
		if _, err := ParseMatcher(m.GetHttpCode()); err != nil {
			return nil, err
		}
		tg.Matcher = &berthv1.ELBMatcher{HttpCode: m.GetHttpCode()}
	}
	return tg, nil
}

// Matcher is the set of HTTP codes a health check takes for success.
type Matcher [][2]int

// Matches says whether code is in the set.
func (m Matcher) Matches(code int) bool {
	return slices.ContainsFunc(m, func(r [2]int) bool { return code >= r[0] && code <= r[1] })
}

// ParseMatcher parses ELB's HttpCode: "200", "200,202", "200-299", codes
// from 200 to 499.
func ParseMatcher(text string) (Matcher, error) {
	bad := func() error {
		return Invalid("Matcher.HttpCode", "'%s' must be codes from 200 to 499 as '200', '200,202' or '200-299'", text)
	}
	if text == "" {
		return nil, bad()
	}
	var m Matcher
	for _, part := range strings.Split(text, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 200 || b > 499 || a > b {
			return nil, bad()
		}
		m = append(m, [2]int{a, b})
	}
	return m, nil
}
