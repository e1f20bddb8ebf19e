package dashboard_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
)

// scalingEnv is a control plane (no instances) with service web behind a
// load balancer's listener that forwards to a target group of one target
// (an HTTP server of the test), web's desired count registered as a
// scalable target (1 to 4) with a target tracking policy on
// ALBRequestCountPerTarget, and service other registered without a policy.
type scalingEnv struct {
	*env
	aas      berthv1.ApplicationAutoScalingClient
	listener string // the listener's URL
	served   *atomic.Int64
}

const (
	webTarget   = "service/default/web"
	otherTarget = "service/default/other"
	// perTarget is the policy's target: requests a minute per target (10
	// a second), well below what the generator sends.
	perTarget = 600
)

func startScaling(t *testing.T) *scalingEnv {
	t.Helper()
	c := cptest.Start(t, controlplane.Config{
		DashboardPublic:   true,
		AutoscalingPeriod: 200 * time.Millisecond,
		LBProxy:           proxy.Options{Interval: func(sec int32) time.Duration { return time.Duration(sec) * 20 * time.Millisecond }},
	})
	e := &scalingEnv{env: &env{Cluster: c, base: "http://" + c.CP.HTTPAddr(), token: c.CP.AdminToken()}, served: &atomic.Int64{}}
	conn := c.Dial(t)
	ctx := c.Ctx
	e.aas = berthv1.NewApplicationAutoScalingClient(conn)

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "berth-dashboard-loadgen" {
			e.served.Add(1)
		}
		io.WriteString(w, "hi")
	}))
	t.Cleanup(backend.Close)
	_, portText, _ := net.SplitHostPort(strings.TrimPrefix(backend.URL, "http://"))
	backendPort, _ := strconv.Atoi(portText)
	elb := berthv1.NewElasticLoadBalancingV2Client(conn)
	lb, err := elb.CreateLoadBalancer(ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	lbArn := lb.GetLoadBalancers()[0].GetLoadBalancerArn()
	tg, err := elb.CreateTargetGroup(ctx, &berthv1.ELBCreateTargetGroupRequest{Name: "web-tg", Protocol: "HTTP", Port: proto.Int32(80), TargetType: "ip", HealthCheckPath: "/"})
	if err != nil {
		t.Fatal(err)
	}
	tgArn := tg.GetTargetGroups()[0].GetTargetGroupArn()
	if _, err := elb.RegisterTargets(ctx, &berthv1.ELBRegisterTargetsRequest{TargetGroupArn: tgArn,
		Targets: []*berthv1.ELBTargetDescription{{Id: "127.0.0.1", Port: proto.Int32(int32(backendPort))}}}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	if _, err := elb.CreateListener(ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lbArn, Protocol: "HTTP", Port: proto.Int32(port),
		DefaultActions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tgArn}}}); err != nil {
		t.Fatal(err)
	}
	e.listener = "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"

	for _, name := range []string{"web", "other"} {
		e.service(t, name, 256, 512, 1)
		if _, err := e.aas.RegisterScalableTarget(ctx, &berthv1.RegisterScalableTargetRequest{ServiceNamespace: "ecs", ResourceId: "service/default/" + name,
			ScalableDimension: "ecs:service:DesiredCount", MinCapacity: proto.Int32(1), MaxCapacity: proto.Int32(4)}); err != nil {
			t.Fatal(err)
		}
	}
	label := lbArn[strings.Index(lbArn, ":loadbalancer/")+len(":loadbalancer/"):] + "/" + tgArn[strings.Index(tgArn, ":targetgroup/")+1:]
	if _, err := e.aas.PutScalingPolicy(ctx, &berthv1.PutScalingPolicyRequest{PolicyName: "requests", ServiceNamespace: "ecs", ResourceId: webTarget,
		ScalableDimension: "ecs:service:DesiredCount", PolicyType: "TargetTrackingScaling",
		TargetTrackingScalingPolicyConfiguration: &berthv1.TargetTrackingScalingPolicyConfiguration{TargetValue: proto.Float64(perTarget),
			PredefinedMetricSpecification: &berthv1.PredefinedMetricSpecification{PredefinedMetricType: "ALBRequestCountPerTarget", ResourceLabel: label},
			ScaleOutCooldown:              proto.Int32(0), ScaleInCooldown: proto.Int32(0)}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// scaling reads the views' scalable targets by resource id.
func (e *scalingEnv) scaling(t *testing.T) map[string]dashboard.ScalableTarget {
	t.Helper()
	var v dashboard.Views
	if code := e.get(t, "/dashboard/api/views", &v); code != http.StatusOK {
		t.Fatalf("views: HTTP %d", code)
	}
	out := map[string]dashboard.ScalableTarget{}
	for _, st := range v.Scaling {
		out[st.ResourceID] = st
	}
	return out
}

// TestScalingPanel: the views show each scalable target with its bounds and
// its service's desired count, the policy's metric and target, where the
// load generator would send, and the evaluated metric once the loop ran.
func TestScalingPanel(t *testing.T) {
	e := startScaling(t)
	var web, other dashboard.ScalableTarget
	cptest.Eventually(t, "the targets, and web's metric evaluated", func() bool {
		s := e.scaling(t)
		web, other = s[webTarget], s[otherTarget]
		return len(s) == 2 && len(web.Policies) == 1 && web.Policies[0].Current != nil
	})
	if web.Min != 1 || web.Max != 4 || web.Desired != 1 || web.Dimension != "ecs:service:DesiredCount" || web.LoadTarget != e.listener || web.Load != nil {
		t.Errorf("web %+v", web)
	}
	p := web.Policies[0]
	if p.Name != "requests" || p.Type != "TargetTrackingScaling" || p.Metric != "ALBRequestCountPerTarget" || p.Target != perTarget ||
		!strings.Contains(p.ResourceLabel, "/targetgroup/web-tg/") || *p.Current != 0 || p.EvaluatedAt == 0 || p.ScaleOutAfter != 3 || p.ScaleInAfter != 15 {
		t.Errorf("web's policy %+v", p)
	}
	if len(other.Policies) != 0 || other.LoadTarget != "" || !strings.Contains(other.LoadNote, "ALBRequestCountPerTarget") || len(other.Activities) != 0 {
		t.Errorf("other %+v", other)
	}
	if c := e.state(t, "default").Controls; !c.Load || c.LoadRate != 50 || c.LoadSeconds != 120 {
		t.Errorf("controls %+v", c)
	}
}

// TestLoadGenerator: the load generator is a demo control (the admin
// token); its requests are checked; it drives web's policy up (a scale-out
// activity), shows its run in the panel, and once stopped the policy
// scales web back in to its minimum.
func TestLoadGenerator(t *testing.T) {
	e := startScaling(t)
	const start, stop = "/dashboard/api/scaling/load", "/dashboard/api/scaling/load/stop"
	body := `{"resourceId":"` + webTarget + `"}`
	for _, tc := range []struct {
		path, token, body string
		code              int
		field             string
	}{
		{start, "", body, http.StatusUnauthorized, "authorization"},
		{start, "wrong", body, http.StatusUnauthorized, "authorization"},
		{stop, "", body, http.StatusUnauthorized, "authorization"},
		{start, e.token, `{}`, http.StatusBadRequest, "resourceId"},
		{start, e.token, `{"resourceId":"` + webTarget + `","rate":51}`, http.StatusBadRequest, "rate"},
		{start, e.token, `{"resourceId":"` + webTarget + `","seconds":121}`, http.StatusBadRequest, "seconds"},
		{start, e.token, `{"resourceId":"` + webTarget + `","burst":1}`, http.StatusBadRequest, "burst"},
		{start, e.token, `{"resourceId":"service/default/nope"}`, http.StatusNotFound, "resourceId"},
		{start, e.token, `{"resourceId":"` + otherTarget + `"}`, http.StatusConflict, ""},
		{stop, e.token, body, http.StatusNotFound, "resourceId"}, // none ran yet
	} {
		code, out := e.post(t, tc.path, tc.token, tc.body)
		if code != tc.code || out["field"] != nil && out["field"] != tc.field || tc.field != "" && out["field"] != tc.field {
			t.Errorf("POST %s %s: HTTP %d %v, want %d naming %q", tc.path, tc.body, code, out, tc.code, tc.field)
		}
	}
	if n := e.served.Load(); n != 0 {
		t.Fatalf("%d generated requests before any start", n)
	}

	code, out := e.post(t, start, e.token, body)
	if code != http.StatusAccepted {
		t.Fatalf("start: HTTP %d %v", code, out)
	}
	if run, _ := out["load"].(map[string]any); run["state"] != "running" || run["rate"] != float64(50) || run["seconds"] != float64(120) || run["url"] != e.listener {
		t.Errorf("start answered %v", out)
	}
	if code, out := e.post(t, start, e.token, body); code != http.StatusConflict {
		t.Errorf("a second start: HTTP %d %v, want 409", code, out)
	}
	var web dashboard.ScalableTarget
	cptest.Eventually(t, "web scaled out on the generated requests, shown with the run", func() bool {
		web = e.scaling(t)[webTarget]
		return web.Desired > 1 && len(web.Activities) > 0 && web.Load != nil && web.Load.Sent > 0
	})
	if a := web.Activities[0]; a.Status != "Successful" || !strings.Contains(a.Cause, "AlarmHigh") || a.At == 0 {
		t.Errorf("scale-out activity %+v", a)
	}
	if l := web.Load; l.State != "running" || l.Remaining <= 0 || l.Remaining > 120 || l.URL != e.listener || l.Failed != 0 {
		t.Errorf("the run in the panel %+v", l)
	}
	if p := web.Policies[0]; p.Current == nil || *p.Current <= 0 || p.High > p.ScaleOutAfter {
		t.Errorf("web's policy while loaded %+v", p)
	}

	code, out = e.post(t, stop, e.token, body)
	run, _ := out["load"].(map[string]any)
	if code != http.StatusOK || run["state"] != "stopped" {
		t.Fatalf("stop: HTTP %d %v", code, out)
	}
	// The activity is written just after UpdateService: wait for both.
	cptest.Eventually(t, "web back to its minimum with its scale-in activity, the stopped run shown", func() bool {
		web = e.scaling(t)[webTarget]
		return web.Desired == 1 && len(web.Activities) > 0 && strings.Contains(web.Activities[0].Cause, "AlarmLow") &&
			web.Load != nil && web.Load.State == "stopped"
	})
	if a := web.Activities[0]; a.Status != "Successful" || !strings.Contains(a.Details, "-> 1") {
		t.Errorf("scale-in activity %+v", a)
	}
	sent := e.served.Load()
	if reported := int64(run["sent"].(float64)); sent > reported || sent == 0 || web.Load.Sent != reported {
		t.Errorf("the listener's target got %d generated requests, the run says it sent %d (the panel %d)", sent, reported, web.Load.Sent)
	}
	cptest.Consistently(t, "no generated request once stopped", 300*time.Millisecond, func() bool { return e.served.Load() == sent })
}

// TestLoadGeneratorEndsWithTheControlPlane: a run still going when the
// control plane shuts down ends with it: no request after, no goroutine
// left.
func TestLoadGeneratorEndsWithTheControlPlane(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var e *scalingEnv
	t.Cleanup(func() { // after the control plane's shutdown: cleanups run last first
		sent := e.served.Load()
		cptest.Consistently(t, "no generated request after the shutdown", 300*time.Millisecond, func() bool { return e.served.Load() == sent })
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(before); err != nil {
			t.Error(err)
		}
	})
	e = startScaling(t)
	if code, out := e.post(t, "/dashboard/api/scaling/load", e.token, `{"resourceId":"`+webTarget+`"}`); code != http.StatusAccepted {
		t.Fatalf("start: HTTP %d %v", code, out)
	}
	cptest.Eventually(t, "generated requests", func() bool { return e.served.Load() > 0 })
}
