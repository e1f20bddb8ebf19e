package elbv2api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a control plane whose health checks run every 20 ms.
func start(t *testing.T) *cptest.Cluster {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return cptest.Start(t, controlplane.Config{LBProxy: proxy.Options{
		Interval: func(s int32) time.Duration { return time.Duration(s) * 10 * time.Millisecond },
	}})
}

// sdk is aws-sdk-go-v2's ELB v2 client pointed at berth.
func sdk(t *testing.T, cp *controlplane.ControlPlane) *elb.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return elb.New(elb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// backends are n web servers that answer with their name, and 200 on /health.
func backends(t *testing.T, n int) ([]*httptest.Server, []string) {
	var servers []*httptest.Server
	var names []string
	for i := range n {
		name := fmt.Sprintf("b%d", i)
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Seen-For", r.Header.Get("X-Forwarded-For")+"|"+r.Header.Get("X-Forwarded-Proto")+"|"+r.Header.Get("X-Forwarded-Port"))
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		servers = append(servers, s)
		names = append(names, name)
	}
	return servers, names
}

func hostPort(t *testing.T, s *httptest.Server) (string, int32) {
	h, p, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	n, _ := strconv.Atoi(p)
	return h, int32(n)
}

// freePort is a loopback port nothing listens on (now).
func freePort(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ELB v2 through aws-sdk-go-v2's client on the query protocol: a load
// balancer, a target group of 3 targets, a listener that spreads requests
// over them, rules, tags, draining, and ELB's errors for bad input.
func TestSDKLoadBalancer(t *testing.T) {
	c := start(t)
	client := sdk(t, c.CP)
	ctx := context.Background()
	web := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(web.CloseIdleConnections)

	lbOut, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web"), Subnets: []string{"subnet-1", "subnet-2"},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if err != nil {
		t.Fatal(err)
	}
	lb := lbOut.LoadBalancers[0]
	if lb.Type != types.LoadBalancerTypeEnumApplication || lb.State.Code != types.LoadBalancerStateEnumActive || lb.CreatedTime == nil ||
		!strings.HasPrefix(aws.ToString(lb.LoadBalancerArn), "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/") || len(lb.AvailabilityZones) != 2 {
		t.Fatalf("load balancer: %+v", lb)
	}
	if _, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("web")}); code(err) != "DuplicateLoadBalancerName" {
		t.Errorf("same name again: %v", err)
	}
	if _, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("-bad")}); code(err) != "ValidationError" {
		t.Errorf("bad name: %v", err)
	}
	if _, err := client.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}}); code(err) != "LoadBalancerNotFound" {
		t.Errorf("describe a missing load balancer: %v", err)
	}

	tgIn := &elb.CreateTargetGroupInput{Name: aws.String("web-tg"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: types.TargetTypeEnumIp,
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(8),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}}
	tgOut, err := client.CreateTargetGroup(ctx, tgIn)
	if err != nil {
		t.Fatal(err)
	}
	tg := tgOut.TargetGroups[0]
	tgArn := aws.ToString(tg.TargetGroupArn)
	if aws.ToString(tg.HealthCheckPath) != "/health" || aws.ToInt32(tg.HealthyThresholdCount) != 2 || !aws.ToBool(tg.HealthCheckEnabled) || aws.ToString(tg.HealthCheckPort) != "traffic-port" {
		t.Errorf("target group: %+v", tg)
	}
	if again, err := client.CreateTargetGroup(ctx, tgIn); err != nil || aws.ToString(again.TargetGroups[0].TargetGroupArn) != tgArn {
		t.Errorf("the same target group again: %v", err)
	}
	tgIn.HealthCheckPath = aws.String("/other")
	if _, err := client.CreateTargetGroup(ctx, tgIn); code(err) != "DuplicateTargetGroupName" {
		t.Errorf("same name, other settings: %v", err)
	}
	if _, err := client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(6)}); code(err) != "InvalidConfigurationRequest" {
		t.Errorf("timeout over interval: %v", err)
	}
	if _, err := client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("x"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		HealthyThresholdCount: aws.Int32(1)}); code(err) != "ValidationError" {
		t.Errorf("threshold 1: %v", err)
	}

	attrs, err := client.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: &tgArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range attrs.Attributes {
		found = found || aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(a.Value) == "30"
	}
	if !found {
		t.Errorf("attributes: %+v", attrs.Attributes)
	}
	if _, err := client.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: &tgArn,
		Attributes: []types.TargetGroupAttribute{{Key: aws.String("nope"), Value: aws.String("1")}}}); code(err) != "ValidationError" {
		t.Errorf("unknown attribute: %v", err)
	}

	servers, names := backends(t, 3)
	var targets []types.TargetDescription
	for _, s := range servers {
		h, p := hostPort(t, s)
		targets = append(targets, types.TargetDescription{Id: aws.String(h), Port: aws.Int32(p)})
	}
	if _, err := client.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: &tgArn, Targets: targets}); err != nil {
		t.Fatal(err)
	}
	health := func() map[string]types.TargetHealth {
		out, err := client.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tgArn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]types.TargetHealth{}
		for _, d := range out.TargetHealthDescriptions {
			m[fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port))] = *d.TargetHealth
		}
		return m
	}
	for k, h := range health() {
		if h.State != types.TargetHealthStateEnumUnused || h.Reason != types.TargetHealthReasonEnumNotInUse {
			t.Errorf("%s before any listener: %s %s", k, h.State, h.Reason)
		}
	}

	port := freePort(t)
	lnOut, err := client.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tgArn}}})
	if err != nil {
		t.Fatal(err)
	}
	listener := lnOut.Listeners[0]
	if fc := listener.DefaultActions[0].ForwardConfig; fc == nil || len(fc.TargetGroups) != 1 || aws.ToInt32(fc.TargetGroups[0].Weight) != 1 {
		t.Errorf("default action as ELB describes it: %+v", listener.DefaultActions[0])
	}
	if _, err := client.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tgArn}}}); code(err) != "DuplicateListener" {
		t.Errorf("a second listener on the port: %v", err)
	}
	cptest.Eventually(t, "targets healthy", func() bool {
		for _, h := range health() {
			if h.State != types.TargetHealthStateEnumHealthy {
				return false
			}
		}
		return true
	})
	groups, err := client.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(groups.TargetGroups) != 1 || len(groups.TargetGroups[0].LoadBalancerArns) != 1 {
		t.Fatalf("target groups of the load balancer: %+v %v", groups, err)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	counts := map[string]int{}
	for range 300 {
		status, body := get(t, web, base+"/")
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		counts[body]++
	}
	for _, n := range names {
		if counts[n] < 80 || counts[n] > 120 { // exactly 100 while all stay healthy
			t.Errorf("round robin over 3 healthy targets: %v (now %+v)", counts, health())
			break
		}
	}
	resp, err := web.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Seen-For"); got != fmt.Sprintf("127.0.0.1|http|%d", port) {
		t.Errorf("X-Forwarded-For|Proto|Port at the target: %q", got)
	}

	// Rules: a fixed response on /teapot*, a priority in use, the default last.
	ruleOut, err := client.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener.ListenerArn, Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/teapot*"}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
			StatusCode: aws.String("418"), ContentType: aws.String("text/plain"), MessageBody: aws.String("short and stout")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, web, base+"/teapot/1"); status != 418 || body != "short and stout" {
		t.Errorf("fixed response: %d %q", status, body)
	}
	if _, err := client.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener.ListenerArn, Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"*.example.com"}}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tgArn}}}); code(err) != "PriorityInUse" {
		t.Errorf("priority in use: %v", err)
	}
	if _, err := client.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: listener.ListenerArn, Priority: aws.Int32(11),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}},
		Actions:    []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn + "0")}}}); code(err) != "TargetGroupNotFound" {
		t.Errorf("a rule to a missing target group: %v", err)
	}
	rules, err := client.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: listener.ListenerArn})
	if err != nil || len(rules.Rules) != 2 || aws.ToString(rules.Rules[0].Priority) != "10" || !aws.ToBool(rules.Rules[1].IsDefault) || aws.ToString(rules.Rules[1].Priority) != "default" {
		t.Fatalf("rules: %+v %v", rules, err)
	}
	if _, err := client.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: rules.Rules[1].RuleArn}); code(err) != "OperationNotPermitted" {
		t.Errorf("delete the default rule: %v", err)
	}
	if _, err := client.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: ruleOut.Rules[0].RuleArn,
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: []string{"/pot*"}}}}}); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, web, base+"/teapot/1"); status != 200 {
		t.Errorf("after ModifyRule /teapot goes to the targets: %d", status)
	}
	if status, _ := get(t, web, base+"/pot"); status != 418 {
		t.Errorf("after ModifyRule /pot is fixed: %d", status)
	}

	// A listener whose port is taken fails, and nothing else changes.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	other, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(int32(taken.Addr().(*net.TCPAddr).Port)), DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: &tgArn}}})
	if code(err) != "InvalidConfigurationRequest" || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("a taken port: %v", err)
	}
	if ls, err := client.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn}); err != nil || len(ls.Listeners) != 0 {
		t.Errorf("listeners after the failure: %+v %v", ls, err)
	}
	if status, _ := get(t, web, base+"/"); status != 200 {
		t.Errorf("the first listener after the failure: %d", status)
	}

	if _, err := client.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: &tgArn}); code(err) != "ResourceInUse" {
		t.Errorf("delete a target group in use: %v", err)
	}
	if _, err := client.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tgArn + "0"}}); code(err) != "TargetGroupNotFound" {
		t.Errorf("describe a missing target group: %v", err)
	}
	if _, err := client.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{aws.ToString(listener.ListenerArn) + "0"}}); code(err) != "ListenerNotFound" {
		t.Errorf("describe a missing listener: %v", err)
	}
	if _, err := client.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: &tgArn, Targets: []types.TargetDescription{{Id: aws.String("i-0123456789abcdef0")}}}); code(err) != "InvalidTarget" {
		t.Errorf("an instance in an ip group: %v", err)
	}

	// Tags.
	if _, err := client.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{tgArn, aws.ToString(lb.LoadBalancerArn)}, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := client.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancerArn), tgArn}})
	if err != nil || len(tags.TagDescriptions) != 2 || len(tags.TagDescriptions[0].Tags) != 2 || len(tags.TagDescriptions[1].Tags) != 1 {
		t.Errorf("tags: %+v %v", tags, err)
	}

	// Draining: a deregistered target takes no new requests.
	drained := targets[0]
	if _, err := client.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: &tgArn, Targets: []types.TargetDescription{drained}}); err != nil {
		t.Fatal(err)
	}
	h := health()[fmt.Sprintf("%s:%d", aws.ToString(drained.Id), aws.ToInt32(drained.Port))]
	if h.State != types.TargetHealthStateEnumDraining || h.Reason != types.TargetHealthReasonEnumDeregistrationInProgress {
		t.Errorf("deregistered target: %s %s", h.State, h.Reason)
	}
	for range 30 {
		if _, body := get(t, web, base+"/"); body == names[0] {
			t.Fatal("a draining target took a new request")
		}
	}

	// Metrics.
	status, body := get(t, web, "http://"+c.CP.HTTPAddr()+"/metrics?access="+c.CP.ViewerToken())
	tgDim := tgArn[strings.Index(tgArn, "targetgroup/"):]
	for _, want := range []string{`berth_elb_request_count_total{target_group="` + tgDim + `"}`, `berth_elb_healthy_host_count{target_group="` + tgDim + `"} 2`,
		`berth_elb_target_response_time_seconds{target_group="` + tgDim + `",quantile="0.99"}`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Deleting the load balancer closes its listener.
	if _, err := client.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "listener closed", func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	if _, err := client.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: &tgArn}); err != nil {
		t.Errorf("delete the target group once unused: %v", err)
	}
}
