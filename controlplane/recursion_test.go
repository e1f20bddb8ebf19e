package controlplane_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/events/lineage"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/lambda/invoke"
)

// queued records the event invocations S3 asks Lambda for.
type queued struct {
	mu   sync.Mutex
	reqs []invoke.EventRequest
}

func (q *queued) CheckPermission(context.Context, invoke.EventRequest) error { return nil }
func (q *queued) InvokeEvent(_ context.Context, req invoke.EventRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, req)
	return nil
}

func (q *queued) all() []invoke.EventRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]invoke.EventRequest(nil), q.reqs...)
}

// Recursive loop detection through the front door: a PutObject carrying a
// function's trace header (as the SDK sends it from inside a function)
// queues the notification's invocation one further in its chain; one whose
// chain already made 16 invocations queues nothing, and /metrics counts it.
func TestS3NotificationLoopStoppedAfter16(t *testing.T) {
	q := &queued{}
	c := cptest.Start(t, controlplane.Config{S3Events: q, MetricsPublic: true})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	client := func(trace string) *s3.Client {
		return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), UsePathStyle: true, HTTPClient: hc,
			Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
			APIOptions:  headers(trace)})
	}
	ctx := context.Background()
	plain := client("")
	if _, err := plain.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("loop")}); err != nil {
		t.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:000000000000:function:resize"
	if _, err := plain.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("loop"),
		NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String(fn), Events: []s3types.Event{"s3:ObjectCreated:*"}}}}}); err != nil {
		t.Fatal(err)
	}
	put := func(c *s3.Client, key string) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("loop"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	put(plain, "by-a-person")
	const root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
	put(client(root+";Lineage=a87bb0a5:3"), "by-the-third")
	put(client(root+";Lineage=a87bb0a5:16"), "by-the-sixteenth")

	reqs := q.all()
	if len(reqs) != 2 {
		t.Fatalf("%d invocations queued; want 2 (the 17th stopped): %+v", len(reqs), reqs)
	}
	if id, n := lineage.Parse(reqs[0].TraceHeader); id == "" || n != 1 {
		t.Errorf("a person's write starts a chain: %q", reqs[0].TraceHeader)
	}
	if reqs[1].TraceHeader != root+";Lineage=a87bb0a5:4" {
		t.Errorf("the third's write: %q; want its trace, counted one further", reqs[1].TraceHeader)
	}
	resp, err := hc.Get("http://" + c.CP.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "berth_lambda_recursive_loops_stopped_total 1\n") {
		t.Fatalf("/metrics lacks the stopped loop:\n%s", body)
	}
}

// headers sends trace as X-Amzn-Trace-Id, as the SDK does inside a function.
func headers(trace string) []func(*middleware.Stack) error {
	if trace == "" {
		return nil
	}
	return []func(*middleware.Stack) error{smithyhttp.AddHeaderValue(lineage.Header, trace)}
}

// The same through the bus: an event a function puts (PutEvents with its
// trace header) or an S3 change it makes in a bucket that sends its events
// to EventBridge keeps the header in the event log; the rule's delivery to a
// Lambda target is counted one further in the chain, and one whose chain
// already made 16 invocations is not made.
func TestEventBusLoopStoppedAfter16(t *testing.T) {
	q := &queued{}
	c := cptest.Start(t, controlplane.Config{EventsLambda: q, MetricsPublic: true})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	creds := credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")
	endpoint := aws.String("http://" + c.CP.HTTPAddr())
	bus := func(trace string) *eventbridge.Client {
		return eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: endpoint, HTTPClient: hc, Credentials: creds,
			APIOptions: headers(trace)})
	}
	bucket := func(trace string) *s3.Client {
		return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: endpoint, UsePathStyle: true, HTTPClient: hc, Credentials: creds,
			APIOptions: headers(trace)})
	}
	ctx := context.Background()
	fn := "arn:aws:lambda:us-east-1:000000000000:function:loop"
	if _, err := bus("").PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("loop"),
		EventPattern: aws.String(`{"source":["my.app","aws.s3"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus("").PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("loop"),
		Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(fn)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := bucket("").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("loop")}); err != nil {
		t.Fatal(err)
	}
	if _, err := bucket("").PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("loop"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	const root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
	putEvent := func(trace, by string) {
		t.Helper()
		out, err := bus(trace).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("my.app"), DetailType: aws.String("Loop"), Detail: aws.String(`{"by":"` + by + `"}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %+v %v", out, err)
		}
	}
	putObject := func(trace, key string) {
		t.Helper()
		if _, err := bucket(trace).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("loop"), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	putEvent("", "a-person")
	putEvent(root+";Lineage=a87bb0a5:3", "the-third")
	putEvent(root+";Lineage=a87bb0a5:16", "the-sixteenth")
	putObject(root+";Lineage=0c1d2e3f:5", "by-the-fifth")
	putObject(root+";Lineage=0c1d2e3f:16", "by-the-sixteenth")

	// Three invocations made and two stopped: every event is accounted for.
	stopped := func() string {
		resp, err := hc.Get("http://" + c.CP.HTTPAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(l, "berth_lambda_recursive_loops_stopped_total "); ok {
				return v
			}
		}
		return ""
	}
	cptest.Eventually(t, "3 invocations and 2 stopped", func() bool { return len(q.all()) >= 3 && stopped() == "2" })
	got := map[string]string{}
	for _, r := range q.all() {
		var ev struct {
			Source string
			Detail struct {
				By     string
				Object struct{ Key string }
			}
		}
		if err := json.Unmarshal(r.Payload, &ev); err != nil {
			t.Fatalf("payload %s: %v", r.Payload, err)
		}
		if r.Function != fn || r.SourceArn != "arn:aws:events:us-east-1:000000000000:rule/loop" {
			t.Errorf("invocation %+v", r)
		}
		got[ev.Source+" "+ev.Detail.By+ev.Detail.Object.Key] = r.TraceHeader
	}
	if len(got) != 3 {
		t.Fatalf("invocations %v; want 3 (the 17th of each chain stopped)", got)
	}
	if id, n := lineage.Parse(got["my.app a-person"]); id == "" || n != 1 {
		t.Errorf("a person's event starts a chain: %q", got["my.app a-person"])
	}
	if h := got["my.app the-third"]; h != root+";Lineage=a87bb0a5:4" {
		t.Errorf("the third's event: %q; want its trace, counted one further", h)
	}
	if h := got["aws.s3 by-the-fifth"]; h != root+";Lineage=0c1d2e3f:6" {
		t.Errorf("the fifth's object: %q; want its trace, counted one further", h)
	}
}
