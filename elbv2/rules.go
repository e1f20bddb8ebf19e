package elbv2

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Condition fields berth matches on.
const (
	FieldPathPattern = "path-pattern"
	FieldHostHeader  = "host-header"
)

// Action types berth carries out.
const (
	ActionForward       = "forward"
	ActionFixedResponse = "fixed-response"
)

// MinPriority and MaxPriority bound a rule's priority.
const (
	MinPriority = 1
	MaxPriority = 50000
)

// CheckPriority checks a rule's priority.
func CheckPriority(field string, p int32) error {
	if p < MinPriority || p > MaxPriority {
		return Invalid(field, "priority %d must be from %d to %d", p, MinPriority, MaxPriority)
	}
	return nil
}

var fixedStatus = regexp.MustCompile(`^[245]\d\d$`)

var fixedContentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

// NormalizeActions checks a listener's or rule's actions and returns them as
// ELB describes them: a forward action to one target group carries both its
// TargetGroupArn and a ForwardConfig of weight 1; Order is filled in. exists
// tells a target group ARN that is stored.
func NormalizeActions(field string, actions []*berthv1.ELBAction, exists func(arn string) bool) ([]*berthv1.ELBAction, error) {
	if len(actions) == 0 {
		return nil, Invalid(field, "at least one action must be specified")
	}
	if len(actions) > 1 {
		return nil, Invalid(field, "berth's rules take one action (forward or fixed-response); %d were given", len(actions))
	}
	out := make([]*berthv1.ELBAction, 0, len(actions))
	for i, a := range actions {
		f := fmt.Sprintf("%s[%d]", field, i)
		a = proto.Clone(a).(*berthv1.ELBAction)
		if a.Order == nil {
			o := int32(i + 1)
			a.Order = &o
		} else if a.GetOrder() < 1 || a.GetOrder() > 50000 {
			return nil, Invalid(f+".Order", "%d must be from 1 to 50000", a.GetOrder())
		}
		switch a.GetType() {
		case ActionForward:
			if a.GetFixedResponseConfig() != nil {
				return nil, Invalid(f+".FixedResponseConfig", "a forward action takes no FixedResponseConfig")
			}
			if err := normalizeForward(f, a, exists); err != nil {
				return nil, err
			}
		case ActionFixedResponse:
			if a.GetTargetGroupArn() != "" || a.GetForwardConfig() != nil {
				return nil, Invalid(f, "a fixed-response action forwards to no target group")
			}
			c := a.GetFixedResponseConfig()
			if c == nil {
				return nil, Invalid(f+".FixedResponseConfig", "a fixed-response action needs a FixedResponseConfig")
			}
			if !fixedStatus.MatchString(c.GetStatusCode()) {
				return nil, Invalid(f+".FixedResponseConfig.StatusCode", "'%s' must be a 2XX, 4XX or 5XX code", c.GetStatusCode())
			}
			if c.GetContentType() != "" && !contains(fixedContentTypes, c.GetContentType()) {
				return nil, Invalid(f+".FixedResponseConfig.ContentType", "'%s' must be one of %s", c.GetContentType(), strings.Join(fixedContentTypes, ", "))
			}
			if len(c.GetMessageBody()) > 1024 {
				return nil, Invalid(f+".FixedResponseConfig.MessageBody", "must be at most 1024 characters")
			}
		case "":
			return nil, Invalid(f+".Type", "an action type must be specified")
		case "redirect", "authenticate-oidc", "authenticate-cognito", "jwt-validation":
			return nil, Conflict(InvalidAction, "berth's load balancers carry out forward and fixed-response actions, not '%s'", a.GetType())
		default:
			return nil, Invalid(f+".Type", "'%s' is not an action type", a.GetType())
		}
		out = append(out, a)
	}
	return out, nil
}

func normalizeForward(f string, a *berthv1.ELBAction, exists func(string) bool) error {
	fc := a.GetForwardConfig()
	if a.GetTargetGroupArn() == "" && len(fc.GetTargetGroups()) == 0 {
		return Invalid(f, "a forward action needs a TargetGroupArn or ForwardConfig.TargetGroups")
	}
	if a.GetTargetGroupArn() != "" && len(fc.GetTargetGroups()) > 0 {
		if len(fc.GetTargetGroups()) != 1 || fc.GetTargetGroups()[0].GetTargetGroupArn() != a.GetTargetGroupArn() {
			return Conflict(InvalidAction, "You cannot specify both a target group ARN and a forward config with more than one or a different target group")
		}
	}
	if a.GetTargetGroupArn() != "" && len(fc.GetTargetGroups()) == 0 {
		one := int32(1)
		if fc == nil {
			fc = &berthv1.ELBForwardActionConfig{}
		}
		fc.TargetGroups = []*berthv1.ELBTargetGroupTuple{{TargetGroupArn: a.GetTargetGroupArn(), Weight: &one}}
	}
	if len(fc.GetTargetGroups()) > 5 {
		return Invalid(f+".ForwardConfig.TargetGroups", "at most 5 target groups, %d given", len(fc.GetTargetGroups()))
	}
	seen := map[string]bool{}
	total := int32(0)
	for j, t := range fc.GetTargetGroups() {
		tf := fmt.Sprintf("%s.ForwardConfig.TargetGroups[%d]", f, j)
		if t.GetTargetGroupArn() == "" {
			return Invalid(tf+".TargetGroupArn", "must not be empty")
		}
		if seen[t.GetTargetGroupArn()] {
			return Invalid(tf+".TargetGroupArn", "target group '%s' is named twice", t.GetTargetGroupArn())
		}
		seen[t.GetTargetGroupArn()] = true
		if t.Weight == nil {
			one := int32(1)
			t.Weight = &one
		}
		if t.GetWeight() < 0 || t.GetWeight() > 999 {
			return Invalid(tf+".Weight", "%d must be from 0 to 999", t.GetWeight())
		}
		total += t.GetWeight()
		if exists != nil && !exists(t.GetTargetGroupArn()) {
			return NotFound(TargetGroupNotFound, t.GetTargetGroupArn())
		}
	}
	if total == 0 {
		return Invalid(f+".ForwardConfig.TargetGroups", "at least one target group must have a weight above 0")
	}
	if len(fc.GetTargetGroups()) == 1 {
		a.TargetGroupArn = fc.GetTargetGroups()[0].GetTargetGroupArn()
	}
	if fc.TargetGroupStickinessConfig == nil {
		off := false
		fc.TargetGroupStickinessConfig = &berthv1.ELBTargetGroupStickinessConfig{Enabled: &off}
	} else if fc.GetTargetGroupStickinessConfig().GetEnabled() {
		return Invalid(f+".ForwardConfig.TargetGroupStickinessConfig.Enabled", "berth's load balancers do not keep sessions sticky")
	}
	a.ForwardConfig = fc
	return nil
}

// TargetGroupsOf are the ARNs of the target groups actions forward to.
func TargetGroupsOf(actions []*berthv1.ELBAction) []string {
	var out []string
	for _, a := range actions {
		for _, t := range a.GetForwardConfig().GetTargetGroups() {
			if !contains(out, t.GetTargetGroupArn()) {
				out = append(out, t.GetTargetGroupArn())
			}
		}
		if a.GetTargetGroupArn() != "" && !contains(out, a.GetTargetGroupArn()) {
			out = append(out, a.GetTargetGroupArn())
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// NormalizeConditions checks a rule's conditions (host-header and
// path-pattern, each given as Values or its config) and returns them as ELB
// describes them, with both.
func NormalizeConditions(field string, conds []*berthv1.ELBRuleCondition) ([]*berthv1.ELBRuleCondition, error) {
	if len(conds) == 0 {
		return nil, Invalid(field, "a rule needs at least one condition")
	}
	total := 0
	seen := map[string]bool{}
	out := make([]*berthv1.ELBRuleCondition, 0, len(conds))
	for i, c := range conds {
		f := fmt.Sprintf("%s[%d]", field, i)
		var cfg *berthv1.ELBValuesConfig
		switch c.GetField() {
		case FieldPathPattern:
			if c.GetHostHeaderConfig() != nil {
				return nil, Invalid(f+".HostHeaderConfig", "a path-pattern condition takes PathPatternConfig")
			}
			cfg = c.GetPathPatternConfig()
		case FieldHostHeader:
			if c.GetPathPatternConfig() != nil {
				return nil, Invalid(f+".PathPatternConfig", "a host-header condition takes HostHeaderConfig")
			}
			cfg = c.GetHostHeaderConfig()
		case "":
			return nil, Invalid(f+".Field", "a condition field must be specified")
		case "http-header", "http-request-method", "query-string", "source-ip":
			return nil, Invalid(f+".Field", "berth's rules match on host-header and path-pattern, not '%s'", c.GetField())
		default:
			return nil, Invalid(f+".Field", "condition field '%s' is not valid", c.GetField())
		}
		if seen[c.GetField()] {
			return nil, Invalid(f+".Field", "a rule can have one '%s' condition", c.GetField())
		}
		seen[c.GetField()] = true
		values := c.GetValues()
		if cfg != nil {
			if len(values) > 0 {
				return nil, Invalid(f, "give the values in Values or in the condition's config, not both")
			}
			values = cfg.GetValues()
		}
		if len(values) == 0 {
			return nil, Invalid(f+".Values", "a '%s' condition needs at least one value", c.GetField())
		}
		for j, v := range values {
			if err := checkPattern(fmt.Sprintf("%s.Values[%d]", f, j), c.GetField(), v); err != nil {
				return nil, err
			}
		}
		total += len(values)
		vs := append([]string(nil), values...)
		n := &berthv1.ELBRuleCondition{Field: c.GetField(), Values: vs}
		if c.GetField() == FieldPathPattern {
			n.PathPatternConfig = &berthv1.ELBValuesConfig{Values: append([]string(nil), vs...)}
		} else {
			n.HostHeaderConfig = &berthv1.ELBValuesConfig{Values: append([]string(nil), vs...)}
		}
		out = append(out, n)
	}
	if total > 5 {
		return nil, Invalid(field, "a rule can have at most 5 condition values in all, %d given", total)
	}
	return out, nil
}

func checkPattern(field, kind, v string) error {
	if v == "" || len(v) > 128 {
		return Invalid(field, "'%s' must be 1 to 128 characters", v)
	}
	for _, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.*?", r)
		if kind == FieldPathPattern {
			ok = ok || strings.ContainsRune("_/~\"'@:+&;%", r)
		}
		if !ok {
			return Invalid(field, "'%s' holds a character a %s value cannot: %q", v, kind, r)
		}
	}
	return nil
}

// wildcard matches s against pattern, where * is any run of characters and
// ? any one character.
func wildcard(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Request is what rules match on.
type Request struct {
	Host string // the Host header, without the port
	Path string // the URL's path, without the query
}

// Matches says whether every condition holds for req: one of a condition's
// values matches (host-header without regard to case, path-pattern with).
func Matches(conds []*berthv1.ELBRuleCondition, req Request) bool {
	for _, c := range conds {
		hit := false
		for _, v := range c.GetValues() {
			switch c.GetField() {
			case FieldHostHeader:
				hit = hit || wildcard(strings.ToLower(v), strings.ToLower(req.Host))
			case FieldPathPattern:
				hit = hit || wildcard(v, req.Path)
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// Route picks the rule for req: the matching rule of the lowest priority,
// else the default rule (IsDefault, or the one whose Priority is "default").
func Route(rules []*berthv1.ELBRule, req Request) *berthv1.ELBRule {
	return RouteSorted(SortRules(rules), req)
}

// RouteSorted is Route over rules already in SortRules' order (the proxy
// sorts a listener's rules once, not per request).
func RouteSorted(sorted []*berthv1.ELBRule, req Request) *berthv1.ELBRule {
	var def *berthv1.ELBRule
	for _, r := range sorted {
		if r.GetIsDefault() || r.GetPriority() == "default" {
			def = r
			continue
		}
		if Matches(r.GetConditions(), req) {
			return r
		}
	}
	return def
}

// SortRules are rules in ELB's order: by priority, the default rule last.
func SortRules(rules []*berthv1.ELBRule) []*berthv1.ELBRule {
	out := append([]*berthv1.ELBRule(nil), rules...)
	prio := func(r *berthv1.ELBRule) int {
		n, err := strconv.Atoi(r.GetPriority())
		if err != nil {
			return MaxPriority + 1
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool { return prio(out[i]) < prio(out[j]) })
	return out
}
