package controlplane_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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
