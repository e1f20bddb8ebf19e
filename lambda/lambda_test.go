package lambda

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

var names = Namer{Region: "us-east-1", Account: "123456789012"}

func exception(err error) string {
	if err == nil {
		return ""
	}
	return apierr.From(err).Exception
}

func TestParseFunctionName(t *testing.T) {
	for _, tc := range []struct {
		in, name, qualifier, exception string
	}{
		{"f", "f", "", ""},
		{"my-func_1", "my-func_1", "", ""},
		{"f:live", "f", "live", ""},
		{"f:$LATEST", "f", "$LATEST", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "f", "", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:3", "f", "3", ""},
		{"123456789012:function:f", "f", "", ""},
		{"123456789012:function:f:prod", "f", "prod", ""},
		{"", "", "", Validation},
		{"a b", "", "", Validation},
		{"a/b", "", "", Validation},
		{"f:a:b", "", "", Validation},
		{"arn:aws:lambda:us-east-1:123456789012:layer:f", "", "", Validation},
		{"arn:aws:lambda:us-west-2:123456789012:function:f", "", "", ResourceNotFound},
		{"arn:aws:lambda:us-east-1:999999999999:function:f", "", "", ResourceNotFound},
		{strings.Repeat("a", 65), "", "", InvalidParameterValue},
		{strings.Repeat("a", 171), "", "", Validation},
	} {
		ref, err := names.ParseFunctionName("FunctionName", tc.in)
		if exception(err) != tc.exception || err == nil && (ref.Name != tc.name || ref.Qualifier != tc.qualifier) {
			t.Errorf("%q: %+v %v, want %s:%s %s", tc.in, ref, err, tc.name, tc.qualifier, tc.exception)
		}
	}
}

func TestResolveQualifier(t *testing.T) {
	for _, tc := range []struct {
		ref       Ref
		q, want   string
		exception string
	}{
		{Ref{"f", ""}, "", "", ""},
		{Ref{"f", ""}, "1", "1", ""},
		{Ref{"f", "1"}, "", "1", ""},
		{Ref{"f", "1"}, "1", "1", ""},
		{Ref{"f", "1"}, "2", "", InvalidParameterValue},
		{Ref{"f", ""}, "a b", "", Validation},
	} {
		got, err := Resolve(tc.ref, tc.q)
		if got != tc.want || exception(err) != tc.exception {
			t.Errorf("%+v %q: %q %v", tc.ref, tc.q, got, err)
		}
	}
}

func TestInvalidMessage(t *testing.T) {
	err := checkRange("MemorySize", 100, MinMemory, MaxMemory)
	want := "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"
	if err.Error() != want {
		t.Fatalf("%s\nwant\n%s", err, want)
	}
	if e := apierr.From(checkRange("EphemeralStorage.Size", 20000, MinStorage, MaxStorage)); !strings.Contains(e.Message, "'ephemeralStorage.size'") || e.Field != "EphemeralStorage.Size" {
		t.Fatalf("nested member: %+v", e)
	}
}

func record(versions ...string) *berthv1.LambdaFunctionRecord {
	f := &berthv1.LambdaFunctionRecord{Name: "f", Latest: &berthv1.LambdaVersionRecord{Config: &berthv1.LambdaFunctionConfiguration{
		FunctionName: "f", Version: Latest, CodeSha256: "abc", State: StateActive, LastUpdateStatus: UpdateSuccessful, RevisionId: "r1"}}}
	for _, v := range versions {
		f.Versions = append(f.Versions, &berthv1.LambdaVersionRecord{Config: &berthv1.LambdaFunctionConfiguration{FunctionName: "f", Version: v, CodeSha256: "old" + v}})
	}
	return f
}

func TestPublish(t *testing.T) {
	f := record()
	next, v, published, err := Publish(names, f, "", "first", "")
	if err != nil || !published || v.Config.Version != "1" || v.Config.FunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:f:1" || next.LastVersion != 1 || v.Config.Description != "first" {
		t.Fatalf("publish: %+v %v", v, err)
	}
	if _, v2, published, _ := Publish(names, next, "", "", ""); published || v2.Config.Version != "1" {
		t.Fatalf("unchanged $LATEST published again: %v", v2.Config.Version)
	}
	if _, _, _, err := Publish(names, f, "other", "", ""); exception(err) != InvalidParameterValue {
		t.Fatalf("CodeSha256 mismatch: %v", err)
	}
	if _, _, _, err := Publish(names, f, "", "", "r0"); exception(err) != PreconditionFailed {
		t.Fatalf("RevisionId mismatch: %v", err)
	}
	busy := record()
	busy.Latest.Config.LastUpdateStatus = UpdateInProgress
	if _, _, _, err := Publish(names, busy, "", "", ""); exception(err) != ResourceConflict {
		t.Fatalf("in progress: %v", err)
	}
}

func TestAliasRouting(t *testing.T) {
	f := record("1", "2")
	for _, tc := range []struct {
		version   string
		weights   map[string]float64
		exception string
	}{
		{"1", nil, ""},
		{"$LATEST", nil, ""},
		{"3", nil, ResourceNotFound},
		{"live", nil, Validation},
		{"1", map[string]float64{"2": 0.5}, ""},
		{"1", map[string]float64{"2": 1.5}, Validation},
		{"1", map[string]float64{"1": 0.5}, InvalidParameterValue},
		{"$LATEST", map[string]float64{"2": 0.5}, InvalidParameterValue},
		{"1", map[string]float64{"$LATEST": 0.5}, InvalidParameterValue},
		{"1", map[string]float64{"2": 0.1, "3": 0.1}, Validation},
	} {
		err := CheckAlias(names, f, tc.version, &berthv1.LambdaAliasRoutingConfiguration{AdditionalVersionWeights: tc.weights})
		if exception(err) != tc.exception {
			t.Errorf("%s %v: %v, want %s", tc.version, tc.weights, err, tc.exception)
		}
	}
	f.Aliases = map[string]*berthv1.LambdaAliasConfiguration{"live": {Name: "live", FunctionVersion: "1",
		RoutingConfig: &berthv1.LambdaAliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}}}}
	for roll, want := range map[float64]string{0: "2", 0.2: "2", 0.25: "1", 0.9: "1", 1: "1"} {
		got, err := ResolveQualifier(names, f, "live", roll)
		if err != nil || got.Version.Config.Version != want || got.Alias.GetName() != "live" {
			t.Errorf("roll %v: %v %v, want %s", roll, got.Version.GetConfig().GetVersion(), err, want)
		}
	}
	if _, err := ResolveQualifier(names, f, "gone", 0); exception(err) != ResourceNotFound {
		t.Fatalf("missing alias: %v", err)
	}
	if _, err := DeleteVersion(names, f, "2"); exception(err) != ResourceConflict {
		t.Fatalf("delete a routed version: %v", err)
	}
}

func TestReserve(t *testing.T) {
	fs := []*berthv1.LambdaFunctionRecord{{Name: "a", ReservedConcurrency: ptr(int32(500))}, {Name: "b"}}
	for _, tc := range []struct {
		name      string
		v         *int32
		exception string
	}{
		{"b", ptr(int32(400)), ""},
		{"b", ptr(int32(401)), InvalidParameterValue},
		{"a", ptr(int32(900)), ""},
		{"a", ptr(int32(901)), InvalidParameterValue},
		{"b", ptr(int32(-1)), Validation},
		{"b", nil, Validation},
		{"b", ptr(int32(0)), ""},
	} {
		if err := CheckReserve(1000, fs, tc.name, tc.v); exception(err) != tc.exception {
			t.Errorf("%s %v: %v", tc.name, tc.v, err)
		}
	}
	if got := Unreserved(1000, fs); got != 500 {
		t.Fatalf("unreserved %d", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecideRetry(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := time.Minute
	cfg0 := &berthv1.LambdaFunctionEventInvokeConfig{MaximumRetryAttempts: ptr(int32(0))}
	short := &berthv1.LambdaFunctionEventInvokeConfig{MaximumEventAgeInSeconds: ptr(int32(90))}
	for _, tc := range []struct {
		name      string
		cfg       *berthv1.LambdaFunctionEventInvokeConfig
		attempts  int32
		throttled bool
		now       time.Time
		drop      bool
		after     time.Duration
	}{
		{"first failure: a minute", nil, 1, false, t0, false, time.Minute},
		{"second failure: two", nil, 2, false, t0, false, 2 * time.Minute},
		{"third failure: done", nil, 3, false, t0, true, 0},
		{"no retries", cfg0, 1, false, t0, true, 0},
		{"throttles retried past the attempts", nil, 5, true, t0, false, 5 * time.Minute},
		{"too old for the next attempt", short, 1, false, t0.Add(31 * time.Second), true, 0},
		{"young enough", short, 1, false, t0.Add(29 * time.Second), false, time.Minute},
	} {
		d := DecideRetry(tc.cfg, tc.attempts, tc.throttled, t0, tc.now, base)
		if d.Drop != tc.drop || !tc.drop && d.After.Sub(tc.now) != tc.after {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
}

func TestPolicyAllows(t *testing.T) {
	s, err := NewStatement(Permission{StatementID: "s", Action: "lambda:InvokeFunction", Principal: "events.amazonaws.com",
		SourceArn: "arn:aws:events:us-east-1:123456789012:rule/*", Resource: "arn:f"})
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := NewStatement(Permission{StatementID: "a", Action: "lambda:*", Principal: "123456789012", Resource: "arn:f:live"})
	stmts := []Statement{s, acct}
	for _, tc := range []struct {
		resource string
		c        Caller
		want     bool
	}{
		{"arn:f", Caller{Principal: "events.amazonaws.com", SourceArn: "arn:aws:events:us-east-1:123456789012:rule/nightly", Action: ActionInvokeFunction}, true},
		{"arn:f", Caller{Principal: "events.amazonaws.com", SourceArn: "arn:aws:events:us-east-1:999999999999:rule/x", Action: ActionInvokeFunction}, false},
		{"arn:f", Caller{Principal: "s3.amazonaws.com", SourceArn: "arn:aws:events:us-east-1:123456789012:rule/x", Action: ActionInvokeFunction}, false},
		{"arn:f:1", Caller{Principal: "events.amazonaws.com", SourceArn: "arn:aws:events:us-east-1:123456789012:rule/x", Action: ActionInvokeFunction}, false},
		{"arn:f:live", Caller{Principal: "arn:aws:iam::123456789012:root", Action: ActionInvokeFunction}, true},
	} {
		if got := Allows(stmts, tc.resource, tc.c); got != tc.want {
			t.Errorf("%s %+v: %v", tc.resource, tc.c, got)
		}
	}
	if _, err := NewStatement(Permission{StatementID: "x", Action: "lambda:InvokeFunction", Principal: "nobody", Resource: "arn:f"}); exception(err) != InvalidParameterValue {
		t.Fatalf("bad principal: %v", err)
	}
}

func TestURLResult(t *testing.T) {
	for _, tc := range []struct {
		payload, ferr string
		status        int
		body, ctype   string
	}{
		{`{"statusCode":201,"headers":{"content-type":"text/plain"},"body":"made","cookies":["a=1"]}`, "", 201, "made", "text/plain"},
		{`{"statusCode":200,"body":"` + base64.StdEncoding.EncodeToString([]byte{0, 1}) + `","isBase64Encoded":true}`, "", 200, "\x00\x01", "application/json"},
		{`{"hello":"world"}`, "", 200, `{"hello":"world"}`, "application/json"},
		{`"text"`, "", 200, `"text"`, "application/json"},
		{`{"statusCode":"x"}`, "", 502, `{"Message":"Internal Server Error"}`, "application/json"},
		{`{"errorMessage":"boom"}`, "Unhandled", 502, `{"Message":"Internal Server Error"}`, "application/json"},
	} {
		r := URLResult([]byte(tc.payload), tc.ferr)
		if r.Status != tc.status || string(r.Body) != tc.body || r.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q %v", tc.payload, r.Status, r.Body, r.Header)
		}
	}
	if r := URLResult([]byte(`{"statusCode":200,"cookies":["a=1","b=2"]}`), ""); len(r.Header["Set-Cookie"]) != 2 {
		t.Fatalf("cookies: %v", r.Header)
	}
}

func TestURLEvent(t *testing.T) {
	ev := URLEvent(URLRequest{Method: "GET", RawPath: "", RawQuery: "a=1&a=2&b=%20x", Proto: "HTTP/1.1", RemoteAddr: "127.0.0.1:5000",
		Header: http.Header{"User-Agent": {"curl"}, "Content-Type": {"image/png"}}, Body: []byte{0xff, 0}, ID: "id", Host: "id.lambda-url.us-east-1.localhost", AccountID: "anonymous", At: time.Unix(1, 0)})
	if ev.RawPath != "/" || ev.QueryStringParameters["a"] != "1,2" || ev.QueryStringParameters["b"] != " x" || !ev.IsBase64Encoded ||
		ev.RequestContext.HTTP.SourceIP != "127.0.0.1" || ev.RequestContext.HTTP.UserAgent != "curl" || ev.Headers["host"] != "id.lambda-url.us-east-1.localhost" || ev.RequestContext.TimeEpoch != 1000 {
		t.Fatalf("%+v", ev)
	}
}

func TestUsage(t *testing.T) {
	recs := []*berthv1.LambdaUsageRecord{
		{FunctionArn: "arn:f:1", BilledMs: 1000, MemoryMb: 1024, InitDurationMs: 100},
		{FunctionArn: "arn:f:1", BilledMs: 500, MemoryMb: 1024},
		{FunctionArn: "arn:g:$LATEST", BilledMs: 2000, MemoryMb: 512},
	}
	u := Usage(recs)
	if len(u.Functions) != 2 || u.Requests != 3 || u.GbSeconds != 2.5 || u.Functions[0].ColdStarts != 1 || u.Functions[0].GbSeconds != 1.5 {
		t.Fatalf("%v", u)
	}
	want := 3*PricePerRequest + 2.5*PricePerGBSecond
	if diff := u.Cost - want; diff > 1e-15 || diff < -1e-15 || u.CostAfterFreeTier != 0 || u.FreeTierRequests != 3 {
		t.Fatalf("cost %v, want %v; after free tier %v", u.Cost, want, u.CostAfterFreeTier)
	}
}
