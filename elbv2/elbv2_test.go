package elbv2

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func cond(field string, values ...string) *berthv1.ELBRuleCondition {
	return &berthv1.ELBRuleCondition{Field: field, Values: values}
}

func TestWildcard(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"/api/*", "/api/users", true},
		{"/api/*", "/api/", true},
		{"/api/*", "/api", false},
		{"/img/*.png", "/img/a/b.png", true},
		{"/img/*.png", "/img/a.jpg", false},
		{"/v?/x", "/v1/x", true},
		{"/v?/x", "/v10/x", false},
		{"*", "", true},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/aXbY", false},
		{"/API", "/api", false},
	} {
		if got := wildcard(c.pattern, c.s); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestRoute(t *testing.T) {
	rules := []*berthv1.ELBRule{
		{RuleArn: "default", Priority: "default", IsDefault: ptr(true)},
		{RuleArn: "api", Priority: "10", Conditions: []*berthv1.ELBRuleCondition{cond(FieldPathPattern, "/api/*")}},
		{RuleArn: "admin-host", Priority: "5", Conditions: []*berthv1.ELBRuleCondition{cond(FieldHostHeader, "admin.example.com"), cond(FieldPathPattern, "/api/*", "/admin*")}},
		{RuleArn: "wild-host", Priority: "20", Conditions: []*berthv1.ELBRuleCondition{cond(FieldHostHeader, "*.example.com")}},
		{RuleArn: "late-api", Priority: "30", Conditions: []*berthv1.ELBRuleCondition{cond(FieldPathPattern, "/api/*")}},
	}
	for _, c := range []struct {
		host, path, want string
	}{
		{"x", "/api/v1", "api"},
		{"ADMIN.example.com", "/api/v1", "admin-host"}, // hosts match without regard to case; priority 5 first
		{"admin.example.com", "/admin/x", "admin-host"},
		{"admin.example.com", "/other", "wild-host"},
		{"www.example.com", "/", "wild-host"},
		{"example.com", "/", "default"},
		{"x", "/API/v1", "default"}, // paths match with regard to case
	} {
		got := Route(rules, Request{Host: c.host, Path: c.path})
		if got.GetRuleArn() != c.want {
			t.Errorf("Route(%s %s) = %s, want %s", c.host, c.path, got.GetRuleArn(), c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestHealthTransitions(t *testing.T) {
	m, _ := ParseMatcher("200-299")
	ok := Check{Code: 200}
	bad := Check{Code: 500}
	timeout := Check{Timeout: true}
	type step struct {
		c     Check
		state string
	}
	for name, steps := range map[string][]step{
		"initial to healthy after 3 passes":   {{ok, StateInitial}, {ok, StateInitial}, {ok, StateHealthy}},
		"initial to unhealthy after 2 fails":  {{bad, StateInitial}, {bad, StateUnhealthy}},
		"a pass resets the fails":             {{bad, StateInitial}, {ok, StateInitial}, {bad, StateInitial}, {bad, StateUnhealthy}},
		"healthy to unhealthy and back":       {{ok, StateInitial}, {ok, StateInitial}, {ok, StateHealthy}, {timeout, StateHealthy}, {timeout, StateUnhealthy}, {ok, StateUnhealthy}, {ok, StateUnhealthy}, {ok, StateHealthy}},
		"a code outside the matcher is fails": {{Check{Code: 302}, StateInitial}, {Check{Code: 404}, StateUnhealthy}},
	} {
		var h Health
		for i, s := range steps {
			h = Observe(h, s.c, m, 3, 2)
			if h.State != s.state {
				t.Errorf("%s: step %d: %s, want %s", name, i, h.State, s.state)
			}
		}
	}
}

func TestDescribeHealth(t *testing.T) {
	for _, c := range []struct {
		h                        Health
		draining, inUse, enabled bool
		state, reason            string
	}{
		{Health{}, false, true, true, StateInitial, "Elb.RegistrationInProgress"},
		{Health{State: StateInitial, Checked: true}, false, true, true, StateInitial, "Elb.InitialHealthChecking"},
		{Health{State: StateHealthy}, false, true, true, StateHealthy, ""},
		{Health{State: StateUnhealthy, Last: Check{Code: 404}}, false, true, true, StateUnhealthy, "Target.ResponseCodeMismatch"},
		{Health{State: StateUnhealthy, Last: Check{Timeout: true}}, false, true, true, StateUnhealthy, "Target.Timeout"},
		{Health{State: StateUnhealthy, Last: Check{Err: "refused"}}, false, true, true, StateUnhealthy, "Target.FailedHealthChecks"},
		{Health{State: StateHealthy}, true, true, true, StateDraining, "Target.DeregistrationInProgress"},
		{Health{State: StateHealthy}, false, false, true, StateUnused, "Target.NotInUse"},
		{Health{}, false, true, false, StateUnavailable, "Target.HealthCheckDisabled"},
	} {
		got := Describe(c.h, c.draining, c.inUse, c.enabled)
		if got.GetState() != c.state || got.GetReason() != c.reason {
			t.Errorf("Describe(%+v) = %s %s, want %s %s", c.h, got.GetState(), got.GetReason(), c.state, c.reason)
		}
	}
}

func TestMatcher(t *testing.T) {
	for text, want := range map[string]bool{"200": true, "200,202": true, "200-299": true, "199": false, "500": false, "300-200": false, "abc": false, "": false} {
		_, err := ParseMatcher(text)
		if (err == nil) != want {
			t.Errorf("ParseMatcher(%q): %v", text, err)
		}
	}
	m, _ := ParseMatcher("200,301-302")
	if !m.Matches(302) || m.Matches(201) {
		t.Error("200,301-302 matches wrong codes")
	}
}

func TestBalancer(t *testing.T) {
	cs := []Candidate{{Healthy: true}, {Healthy: false}, {Healthy: true, Draining: true}, {Healthy: true}}
	seen := map[int]int{}
	for n := range uint64(100) {
		seen[PickRoundRobin(cs, n)]++
	}
	if seen[0] != 50 || seen[3] != 50 {
		t.Errorf("round robin over healthy, not draining targets: %v", seen)
	}
	// Every target unhealthy: ELB fails open, still never to a draining one.
	open := []Candidate{{}, {Draining: true}, {}}
	if got := Eligible(open); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("fail open: %v", got)
	}
	if PickRoundRobin([]Candidate{{Draining: true}}, 0) != -1 {
		t.Error("a group with only draining targets picked one")
	}
	lo := []Candidate{{Healthy: true, Outstanding: 3}, {Healthy: true, Outstanding: 1}, {Healthy: true, Outstanding: 2}}
	if got := PickLeastOutstanding(lo, 7); got != 1 {
		t.Errorf("least outstanding picked %d", got)
	}
	w := []Weighted{{"a", 3}, {"b", 1}, {"c", 0}}
	count := map[int]int{}
	for n := range uint64(400) {
		count[PickWeighted(w, n)]++
	}
	if count[0] != 300 || count[1] != 100 || count[2] != 0 {
		t.Errorf("weights 3:1:0 gave %v", count)
	}
}

func TestBadInput(t *testing.T) {
	exists := func(arn string) bool { return arn == "tg" }
	for name, err := range map[string]error{
		"priority 0":            CheckPriority("Priority", 0),
		"priority 50001":        CheckPriority("Priority", 50001),
		"no actions":            second(NormalizeActions("Actions", nil, exists)),
		"unknown target group":  second(NormalizeActions("Actions", []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: "nope"}}, exists)),
		"fixed 301":             second(NormalizeActions("Actions", []*berthv1.ELBAction{{Type: "fixed-response", FixedResponseConfig: &berthv1.ELBFixedResponseActionConfig{StatusCode: "301"}}}, exists)),
		"weights all 0":         second(NormalizeActions("Actions", []*berthv1.ELBAction{{Type: "forward", ForwardConfig: &berthv1.ELBForwardActionConfig{TargetGroups: []*berthv1.ELBTargetGroupTuple{{TargetGroupArn: "tg", Weight: ptr(int32(0))}}}}}, exists)),
		"no conditions":         second(NormalizeConditions("Conditions", nil)),
		"source-ip":             second(NormalizeConditions("Conditions", []*berthv1.ELBRuleCondition{cond("source-ip", "10.0.0.0/8")})),
		"6 values":              second(NormalizeConditions("Conditions", []*berthv1.ELBRuleCondition{cond(FieldPathPattern, "/a", "/b", "/c", "/d", "/e", "/f")})),
		"bad host char":         second(NormalizeConditions("Conditions", []*berthv1.ELBRuleCondition{cond(FieldHostHeader, "a b")})),
		"name too long":         CheckName("Name", "a234567890123456789012345678901234", true),
		"name internal-":        CheckName("Name", "internal-x", true),
		"name hyphen end":       CheckName("Name", "web-", false),
		"timeout >= interval":   second(NewTargetGroup(&berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP", Port: ptr(int32(80)), HealthCheckIntervalSeconds: ptr(int32(5)), HealthCheckTimeoutSeconds: ptr(int32(5))})),
		"threshold 11":          second(NewTargetGroup(&berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP", Port: ptr(int32(80)), HealthyThresholdCount: ptr(int32(11))})),
		"TCP":                   second(NewTargetGroup(&berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "TCP", Port: ptr(int32(80))})),
		"no port":               second(NewTargetGroup(&berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP"})),
		"unknown attribute":     second(ApplyAttributes(DefaultAttributes(), []*berthv1.ELBTargetGroupAttribute{{Key: "nope", Value: "1"}})),
		"delay 3601":            second(ApplyAttributes(DefaultAttributes(), []*berthv1.ELBTargetGroupAttribute{{Key: AttrDeregistrationDelay, Value: "3601"}})),
		"instance target as ip": second(CheckTarget("Targets[0]", "ip", &berthv1.ELBTargetDescription{Id: "i-0123"}, 80)),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if apierr.From(err).Exception == "" {
			t.Errorf("%s: %v has no exception name", name, err)
		}
	}
	tg, err := NewTargetGroup(&berthv1.ELBCreateTargetGroupRequest{Name: "web", Protocol: "HTTP", Port: ptr(int32(80))})
	if err != nil || tg.GetHealthCheckIntervalSeconds() != 30 || tg.GetHealthyThresholdCount() != 5 || tg.GetMatcher().GetHttpCode() != "200" || tg.GetTargetType() != "instance" {
		t.Errorf("defaults: %v %v", tg, err)
	}
}

func second[T any](_ T, err error) error { return err }
