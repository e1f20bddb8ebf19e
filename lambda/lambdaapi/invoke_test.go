package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/lambdaapi"
	"github.com/berth/berth/store"
)

// Invoke's three types through the SDK over a fake Invoker: the payload,
// the function error and the log tail as headers, DryRun's 204 and Event's
// 202.
func TestSDKInvoke(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client
	e.create(t, "echo")

	out, err := c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`), LogType: types.LogTypeTail})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"a":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Fatalf("invoke: %+v %v", out, err)
	}
	log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.HasPrefix(string(log), "START RequestId: ") {
		t.Fatalf("log tail %q", log)
	}
	calls := e.fake.Calls()
	if len(calls) != 1 || calls[0].Function.ARN != "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST" || calls[0].Function.MemoryMB != 128 ||
		calls[0].Function.Timeout.Seconds() != 3 || calls[0].Function.ReservedConcurrency != -1 || !calls[0].LogTail || calls[0].Function.PackageType != "Image" {
		t.Fatalf("the invoker got %+v", calls)
	}
	out, err = c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"fail":1}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !bytes.Contains(out.Payload, []byte("boom")) || out.StatusCode != 200 {
		t.Fatalf("function error: %+v %v", out, err)
	}
	out, err = c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("dry run: %+v %v", out, err)
	}
	_, err = c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"throttle":true}`)})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || aws.ToString(tm.Message) != "Rate Exceeded." {
		t.Fatalf("throttle: %v", err)
	}
	n := len(e.fake.Calls())
	out, err = c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"e":1}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("event: %+v %v", out, err)
	}
	eventually(t, "the event's invocation", func() bool { return len(e.fake.Calls()) == n+1 })
	if got := e.fake.Calls()[n]; string(got.Payload) != `{"e":1}` {
		t.Fatalf("event ran with %q", got.Payload)
	}
	// Through a version and an alias: ExecutedVersion is the version.
	if _, err := c.PublishVersion(ctx, &sdk.PublishVersionInput{FunctionName: aws.String("echo")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &sdk.CreateAliasInput{FunctionName: aws.String("echo"), Name: aws.String("prod"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	out, err = c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("echo"), Qualifier: aws.String("prod"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.ExecutedVersion) != "1" {
		t.Fatalf("by alias: %+v %v", out, err)
	}
}

// Invoke's bad input: Lambda's exceptions, names and statuses.
func TestInvokeBadInput(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client
	e.create(t, "f")
	cases := []struct {
		name string
		in   *sdk.InvokeInput
		want string
	}{
		{"missing function", &sdk.InvokeInput{FunctionName: aws.String("nope")}, "ResourceNotFoundException"},
		{"bad name", &sdk.InvokeInput{FunctionName: aws.String("a b")}, "ValidationException"},
		{"other account", &sdk.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:999999999999:function:f")}, "ResourceNotFoundException"},
		{"missing version", &sdk.InvokeInput{FunctionName: aws.String("f"), Qualifier: aws.String("7")}, "ResourceNotFoundException"},
		{"qualifiers differ", &sdk.InvokeInput{FunctionName: aws.String("f:1"), Qualifier: aws.String("2")}, "InvalidParameterValueException"},
		{"not JSON", &sdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte("{nope")}, "InvalidRequestContentException"},
		{"over 6 MB", &sdk.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`"` + strings.Repeat("a", 6*1024*1024) + `"`)}, "RequestTooLargeException"},
		{"async over 256 KB", &sdk.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`"` + strings.Repeat("a", 256*1024) + `"`)}, "RequestTooLargeException"},
		{"bad type", &sdk.InvokeInput{FunctionName: aws.String("f"), InvocationType: "Later"}, "ValidationException"},
		{"bad log type", &sdk.InvokeInput{FunctionName: aws.String("f"), LogType: "All"}, "ValidationException"},
		{"bad client context", &sdk.InvokeInput{FunctionName: aws.String("f"), ClientContext: aws.String("%%%")}, "InvalidParameterValueException"},
	}
	for _, tc := range cases {
		_, err := c.Invoke(ctx, tc.in)
		if code(err) != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want)
		}
	}
	// A function still Pending: ResourceConflictException.
	block := make(chan struct{})
	e2 := start(t, nil, lambdaapi.Config{Prepare: func(ctx context.Context, fn invoke.Function, zip string) error {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}})
	defer close(block)
	if _, err := e2.client.CreateFunction(ctx, &sdk.CreateFunctionInput{FunctionName: aws.String("slow"), Role: aws.String(role), PackageType: types.PackageTypeImage,
		Code: &types.FunctionCode{ImageUri: aws.String("local/img:1")}}); err != nil {
		t.Fatal(err)
	}
	_, err := e2.client.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("slow")})
	var rc *types.ResourceConflictException
	if !errors.As(err, &rc) || aws.ToString(rc.Message) != "The operation cannot be performed at this time. The function is currently in the following state: Pending" {
		t.Fatalf("invoke while Pending: %v", err)
	}
}

// Event invocations: retried twice on a function error, then sent to the
// on-failure destination (another function) with Lambda's invocation
// record; MaximumRetryAttempts 0 sends the first failure.
func TestEventRetriesAndDestination(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client
	e.create(t, "work")
	e.create(t, "dlq")
	dlq := "arn:aws:lambda:us-east-1:123456789012:function:dlq"
	if _, err := c.PutFunctionEventInvokeConfig(ctx, &sdk.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("work"),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dlq)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("work"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"fail":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	var toDLQ invoke.Request
	eventually(t, "the destination's invocation", func() bool {
		for _, r := range e.fake.Calls() {
			if r.Function.Name == "dlq" {
				toDLQ = r
				return true
			}
		}
		return false
	})
	works := 0
	for _, r := range e.fake.Calls() {
		if r.Function.Name == "work" {
			works++
		}
	}
	if works != 3 {
		t.Fatalf("work ran %d times, want 3 (1 + 2 retries)", works)
	}
	var rec struct {
		RequestContext struct {
			Condition              string
			ApproximateInvokeCount int
			FunctionArn            string
		}
		RequestPayload  map[string]any
		ResponseContext struct{ FunctionError string }
	}
	if err := json.Unmarshal(toDLQ.Payload, &rec); err != nil || rec.RequestContext.Condition != "RetriesExhausted" || rec.RequestContext.ApproximateInvokeCount != 3 ||
		rec.RequestPayload["fail"] != "x" || rec.ResponseContext.FunctionError != "Unhandled" {
		t.Fatalf("destination record %s (%v)", toDLQ.Payload, err)
	}
	got, err := c.GetFunctionEventInvokeConfig(ctx, &sdk.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("work")})
	if err != nil || aws.ToString(got.DestinationConfig.OnFailure.Destination) != dlq || aws.ToString(got.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:work:$LATEST" {
		t.Fatalf("get config: %+v %v", got, err)
	}
	for _, bad := range []*sdk.PutFunctionEventInvokeConfigInput{
		{FunctionName: aws.String("work"), MaximumRetryAttempts: aws.Int32(3)},
		{FunctionName: aws.String("work"), MaximumEventAgeInSeconds: aws.Int32(59)},
		{FunctionName: aws.String("work"), DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:123456789012:q")}}},
	} {
		if _, err := c.PutFunctionEventInvokeConfig(ctx, bad); code(err) != "ValidationException" && code(err) != "InvalidParameterValueException" {
			t.Errorf("bad config %+v: %v", bad, err)
		}
	}
	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &sdk.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("work")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFunctionEventInvokeConfig(ctx, &sdk.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("work")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("after delete: %v", err)
	}
}

// An Event acknowledged with 202 survives the server's end: with no
// invoker answering, the event stays queued; a new server over the same
// state file runs it.
func TestEventSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stuck := &blocking{n: make(chan struct{}, 1)}
	e := start(t, st, lambdaapi.Config{Invoker: stuck, DataDir: dir})
	ctx := context.Background()
	e.create(t, "f")
	if _, err := e.client.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"n":42}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first attempt to start", func() bool { return stuck.started() })
	e.stop()
	st.Close()

	st2, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	e2 := start(t, st2, lambdaapi.Config{DataDir: dir})
	eventually(t, "the event after the restart", func() bool {
		for _, r := range e2.fake.Calls() {
			if string(r.Payload) == `{"n":42}` {
				return true
			}
		}
		return false
	})
}

// blocking is an Invoker whose invocations wait until their context ends,
// as a control plane killed mid-invocation.
type blocking struct{ n chan struct{} }

func (b *blocking) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	select {
	case b.ch() <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return invoke.Result{}, ctx.Err()
}

func (b *blocking) ch() chan struct{} { return b.n }

func (b *blocking) started() bool { return len(b.ch()) > 0 }

// Each invocation's usage is kept and priced by GetFunctionUsage.
func TestUsageRecords(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	e.create(t, "u")
	for range 3 {
		if _, err := e.client.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("u")}); err != nil {
			t.Fatal(err)
		}
	}
	var got *berthv1.GetFunctionUsageResponse
	eventually(t, "three usage records", func() bool {
		var err error
		got, err = e.srv.Usage().GetFunctionUsage(ctx, &berthv1.GetFunctionUsageRequest{FunctionName: "u"})
		return err == nil && got.Requests == 3
	})
	// The fake takes 1.5 ms: billed 2 ms each at 128 MB.
	if len(got.Functions) != 1 || got.Functions[0].BilledMs != 6 || got.Functions[0].FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:u:$LATEST" || got.Cost <= 0 {
		t.Fatalf("usage %v", got)
	}
}
