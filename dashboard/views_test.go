package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/lambda/invoke"
)

// Values that must never appear in the dashboard's data.
const (
	ssmSecret    = "ssm-value-never-shown"
	smSecret     = "sm-value-never-shown"
	lambdaSecret = "lambda-env-never-shown"
)

// viewsInvoker runs functions for these tests without Docker: each
// function's first invocation is a cold start; a payload holding "fail"
// ends in a function error.
type viewsInvoker struct {
	mu   sync.Mutex
	warm map[string]bool
}

func (v *viewsInvoker) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	v.mu.Lock()
	cold := !v.warm[req.Function.Name]
	v.warm[req.Function.Name] = true
	v.mu.Unlock()
	res := invoke.Result{Payload: []byte(`"ok"`), Duration: time.Millisecond}
	if cold {
		res.InitDuration = 5 * time.Millisecond
	}
	if bytes.Contains(req.Payload, []byte("fail")) {
		res.Payload, res.FunctionError = []byte(`{"errorMessage":"failed on purpose","errorType":"Test"}`), "Unhandled"
	}
	return res, nil
}

// viewsEnv is a control plane (no instances) holding one of each thing the
// services' panels show, made through the services' own APIs.
type viewsEnv struct {
	*cptest.Cluster
	base     string
	lb       string // the listener's address
	hc       *http.Client
	fnArn    string
	requests int
}

func startViews(t *testing.T) *viewsEnv {
	t.Helper()
	c := cptest.Start(t, controlplane.Config{
		DashboardPublic: true,
		LambdaInvoker:   &viewsInvoker{warm: map[string]bool{}},
		LBProxy:         proxy.Options{Interval: func(sec int32) time.Duration { return time.Duration(sec) * 20 * time.Millisecond }},
	})
	e := &viewsEnv{Cluster: c, base: "http://" + c.CP.HTTPAddr(), hc: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(e.hc.CloseIdleConnections)
	conn := c.Dial(t)
	ctx := c.Ctx

	// Secrets, which the panels must never show.
	if _, err := berthv1.NewSSMClient(conn).PutParameter(ctx, &berthv1.PutParameterRequest{Name: "/app/db", Value: ssmSecret, Type: "SecureString"}); err != nil {
		t.Fatal(err)
	}
	if _, err := berthv1.NewSecretsManagerClient(conn).CreateSecret(ctx, &berthv1.CreateSecretRequest{Name: "app/api", SecretString: proto.String(smSecret)}); err != nil {
		t.Fatal(err)
	}

	// A function with reserved concurrency, invoked three times: one cold
	// start, one function error.
	lc := berthv1.NewLambdaClient(conn)
	fn, err := lc.CreateFunction(ctx, &berthv1.LambdaCreateFunctionRequest{
		FunctionName: "thumbs", PackageType: "Image", Code: &berthv1.LambdaFunctionCode{ImageUri: "berth/thumbs:latest"},
		Role: "arn:aws:iam::000000000000:role/thumbs", MemorySize: proto.Int32(256),
		Environment: &berthv1.LambdaEnvironment{Variables: map[string]string{"TOKEN": lambdaSecret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.fnArn = fn.GetFunctionArn()
	if _, err := lc.PutFunctionConcurrency(ctx, &berthv1.LambdaPutFunctionConcurrencyRequest{FunctionName: "thumbs", ReservedConcurrentExecutions: proto.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "thumbs Active", func() bool {
		f, err := lc.GetFunctionConfiguration(ctx, &berthv1.LambdaGetFunctionConfigurationRequest{FunctionName: "thumbs"})
		return err == nil && f.GetState() == "Active"
	})
	for _, p := range []string{`{"n":1}`, `{"n":2}`, `{"fail":true}`} {
		if _, err := lc.Invoke(ctx, &berthv1.LambdaInvokeRequest{FunctionName: "thumbs", Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}

	// A bucket of two objects.
	key := c.CP.AccessKey()
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base), UsePathStyle: true, HTTPClient: e.hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a.png", "b.png"} {
		if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(k), Body: strings.NewReader("png")}); err != nil {
			t.Fatal(err)
		}
	}

	// A rule whose target is the function, with one event delivered; a
	// scheduled rule; a schedule.
	ev := berthv1.NewEventBridgeClient(conn)
	rule, err := ev.PutRule(ctx, &berthv1.PutRuleRequest{Name: "on-upload", EventPattern: `{"source":["app.uploads"]}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AddPermission(ctx, &berthv1.LambdaAddPermissionRequest{FunctionName: "thumbs", StatementId: "events", Action: "lambda:InvokeFunction",
		Principal: "events.amazonaws.com", SourceArn: rule.GetRuleArn()}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.PutTargets(ctx, &berthv1.PutTargetsRequest{Rule: "on-upload", Targets: []*berthv1.EventsTarget{{Id: "thumbs", Arn: e.fnArn}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.PutRule(ctx, &berthv1.PutRuleRequest{Name: "hourly", ScheduleExpression: "rate(1 hour)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := berthv1.NewSchedulerClient(conn).CreateSchedule(ctx, &berthv1.CreateScheduleRequest{Name: "nightly", ScheduleExpression: "cron(0 3 * * ? *)",
		FlexibleTimeWindow: &berthv1.SchedulerFlexibleTimeWindow{Mode: "OFF"},
		Target:             &berthv1.SchedulerTarget{Arn: e.fnArn, RoleArn: "arn:aws:iam::000000000000:role/scheduler"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.PutEvents(ctx, &berthv1.PutEventsRequest{Entries: []*berthv1.PutEventsRequestEntry{{Source: "app.uploads", DetailType: "Upload", Detail: `{"key":"a.png"}`}}}); err != nil {
		t.Fatal(err)
	}

	// A load balancer with a listener forwarding to a target group of one
	// target, a real HTTP server on loopback.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	t.Cleanup(backend.Close)
	_, portText, _ := net.SplitHostPort(strings.TrimPrefix(backend.URL, "http://"))
	backendPort, _ := strconv.Atoi(portText)
	elb := berthv1.NewElasticLoadBalancingV2Client(conn)
	lb, err := elb.CreateLoadBalancer(ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := elb.CreateListener(ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lb.GetLoadBalancers()[0].GetLoadBalancerArn(), Protocol: "HTTP", Port: proto.Int32(port),
		DefaultActions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tgArn}}}); err != nil {
		t.Fatal(err)
	}
	e.lb = "127.0.0.1:" + strconv.Itoa(int(port))
	return e
}

// freePort is a loopback port nothing listens on (now).
func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// send makes n requests through the listener, counting those answered 200.
func (e *viewsEnv) send(n int) {
	for range n {
		resp, err := e.hc.Get("http://" + e.lb + "/")
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			e.requests++
		}
	}
}

// views reads the snapshot's views and its raw JSON.
func (e *viewsEnv) views(t *testing.T) (*dashboard.Views, string) {
	t.Helper()
	resp, err := e.hc.Get(e.base + "/dashboard/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st dashboard.State
	if err := json.Unmarshal(b, &st); err != nil || st.Views == nil {
		t.Fatalf("state: %v %.300s", err, b)
	}
	return st.Views, string(b)
}

// TestSnapshotViews: the snapshot's views show the function (package,
// memory, reserved concurrency, invocations, errors, cold starts), the
// bucket's object count, the rule's target with its delivery, the
// schedules' next fire times, the listener and the target group's health
// and request rate; and no secret's value.
func TestSnapshotViews(t *testing.T) {
	e := startViews(t)
	var v *dashboard.Views
	var raw string
	cptest.Eventually(t, "the views", func() bool {
		e.send(5)
		v, raw = e.views(t)
		return len(v.Functions) == 1 && v.Functions[0].Invocations.Recent >= 4 && // 3 and the rule's event
			len(v.Rules) == 2 && len(v.Rules[1].Targets) == 1 && v.Rules[1].Targets[0].Delivered == 1 &&
			len(v.TargetGroups) == 1 && v.TargetGroups[0].Healthy == 1 && v.TargetGroups[0].RequestsPerSecond > 0
	})
	want := []string{dashboard.PanelFunctions, dashboard.PanelBuckets, dashboard.PanelRules, dashboard.PanelSchedules, dashboard.PanelLoadBalancers, dashboard.PanelScaling}
	if strings.Join(v.Panels, ",") != strings.Join(want, ",") || len(v.Scaling) != 0 {
		t.Errorf("panels %v, want %v; scalable targets %+v, want none", v.Panels, want, v.Scaling)
	}
	f := v.Functions[0]
	if f.Name != "thumbs" || f.PackageType != "Image" || f.MemoryMB != 256 || f.State != "Active" || f.ReservedConcurrency == nil || *f.ReservedConcurrency != 5 {
		t.Errorf("function %+v", f)
	}
	if n := f.Invocations; n.Recent != 4 || n.Errors != 1 || n.ColdStarts != 1 || n.Total != 4 || n.LastError != "Unhandled" || n.PerSecond <= 0 {
		t.Errorf("invocations %+v", n)
	}
	if len(v.Buckets) != 1 || v.Buckets[0].Name != "photos" || v.Buckets[0].Objects != 2 || v.Buckets[0].CreatedAt == 0 {
		t.Errorf("buckets %+v", v.Buckets)
	}
	hourly, upload := v.Rules[0], v.Rules[1]
	if hourly.Name != "hourly" || hourly.NextFire <= float64(time.Now().Unix()) || hourly.NextFire > float64(time.Now().Add(time.Hour+time.Minute).Unix()) {
		t.Errorf("scheduled rule %+v", hourly)
	}
	tgt := upload.Targets[0]
	if upload.Name != "on-upload" || upload.LastMatchedAt == 0 || tgt.ID != "thumbs" || tgt.Kind != "lambda" || tgt.Matched != 1 || tgt.Failed != 0 || tgt.Pending != 0 || tgt.LastDeliveredAt == 0 {
		t.Errorf("rule %+v, target %+v", upload, tgt)
	}
	if len(v.Schedules) != 1 {
		t.Fatalf("schedules %+v", v.Schedules)
	}
	s := v.Schedules[0]
	next := time.Unix(int64(s.NextFire), 0).UTC()
	if s.Group != "default" || s.Name != "nightly" || s.State != "ENABLED" || next.Hour() != 3 || next.Minute() != 0 || !next.After(time.Now()) || s.LastFire != 0 || s.Target.Kind != "lambda" {
		t.Errorf("schedule %+v (next %v)", s, next)
	}
	if len(v.LoadBalancers) != 1 || len(v.LoadBalancers[0].Listeners) != 1 {
		t.Fatalf("load balancers %+v", v.LoadBalancers)
	}
	l := v.LoadBalancers[0].Listeners[0]
	if l.Addr != e.lb || l.Protocol != "HTTP" || l.Default != "forward to web-tg" {
		t.Errorf("listener %+v", l)
	}
	tg := v.TargetGroups[0]
	if tg.Name != "web-tg" || len(tg.Targets) != 1 || tg.Targets[0].State != "healthy" || tg.Requests < 5 || tg.PerTargetPerSecond != tg.RequestsPerSecond ||
		len(tg.LoadBalancers) != 1 || tg.LoadBalancers[0] != "web" {
		t.Errorf("target group %+v", tg)
	}
	for _, secret := range []string{ssmSecret, smSecret, lambdaSecret} {
		if strings.Contains(raw, secret) {
			t.Errorf("the snapshot shows a secret's value %q", secret)
		}
	}
	// The views alone, and in the event stream.
	var alone dashboard.Views
	if code := (&env{base: e.base}).get(t, "/dashboard/api/views", &alone); code != http.StatusOK || len(alone.Functions) != 1 {
		t.Errorf("views: HTTP %d %+v", code, alone)
	}
}

// TestViewsEvent: the event stream sends a "views" event when the panels
// change (a new bucket), and the views need what the snapshot needs.
func TestViewsEvent(t *testing.T) {
	e := startViews(t)
	s := openStream(t, e.base, "default")
	if ev, _ := s.next(t, 30*time.Second); ev.name != "snapshot" {
		t.Fatalf("first event %q", ev.name)
	}
	key := e.CP.AccessKey()
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.base), UsePathStyle: true, HTTPClient: e.hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("later")}); err != nil {
		t.Fatal(err)
	}
	for {
		ev, ok := s.next(t, 30*time.Second)
		if !ok {
			t.Fatal("the stream ended")
		}
		if ev.name != "views" {
			continue
		}
		var v dashboard.Views
		if err := json.Unmarshal(ev.data, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Buckets) == 2 && v.Buckets[0].Name == "later" { // by name
			return
		}
	}
}
