package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/fxamacker/cbor/v2"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = awsapi.Key{AccessKeyID: "AKIATESTTESTTESTTEST", SecretAccessKey: "secretsecretsecretsecretsecretsecret0000"}

// echo is a test service with one operation, Echo, that answers its request
// (a RunTaskRequest: strings, a number, a bool, a list of structures), or
// fails with the error its group names.
var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := &berthv1.RunTaskRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				in := req.(*berthv1.RunTaskRequest)
				if in.Group == "missing" {
					return nil, apierr.New(apierr.NotFound, "ThingNotFound", "thing %q not found", in.TaskDefinition)
				}
				if in.Group == "worded" {
					return nil, apierr.Field("taskDefinition", "%q is not a thing", in.TaskDefinition).Says("The thing is invalid.")
				}
				if c, ok := awsapi.CallerFrom(ctx); !ok || c.AccessKeyID != key.AccessKeyID {
					return nil, fmt.Errorf("no caller in the context")
				}
				if in.Group == "trace" {
					in.StartedBy = awsapi.TraceHeader(ctx)
				}
				return in, nil
			}
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Echo/Echo"}, h)
		},
	}},
}

func exceptions(e *apierr.Error) (string, int) {
	switch {
	case e.Reason == "ThingNotFound":
		return "ResourceNotFoundException", http.StatusNotFound
	case e.Class == apierr.InvalidArgument:
		return "ValidationException", 0
	}
	return "InternalFailure", 0
}

// frontDoor serves the echo service in every protocol, and an S3-like
// REST-XML handler, and counts the calls its interceptor saw.
func frontDoor(t *testing.T) (*httptest.Server, *int) {
	t.Helper()
	calls := new(int)
	fd := awsapi.New(awsapi.Keys{key.AccessKeyID: key.SecretAccessKey}, awsapi.Options{
		Interceptor: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			*calls++
			return handler(ctx, req)
		},
	})
	base := awsapi.Service{Desc: &echoDesc, Impl: struct{}{}, Exception: exceptions}
	svcs := []awsapi.Service{
		{Name: "json10", SigningName: "json10", Protocols: []awsapi.Protocol{awsapi.JSON10}, TargetPrefix: "Echo_20240101"},
		{Name: "json11", SigningName: "json11", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: "EchoV11"},
		{Name: "rest", SigningName: "rest", Protocols: []awsapi.Protocol{awsapi.RESTJSON}, Routes: map[string]awsapi.Route{
			"Echo": {Method: "POST", Path: "/2024-01-01/echo/{taskDefinition}", Query: map[string]string{"Count": "count"},
				Header: map[string]string{"X-Group": "group"}, Status: 201, ResponseHeader: map[string]string{"startedBy": "X-Started-By"}},
		}},
		{Name: "query", SigningName: "query", Protocols: []awsapi.Protocol{awsapi.Query}, XMLNamespace: "http://query.example/doc/2024-01-01/"},
		{Name: "cbor", SigningName: "cbor", Protocols: []awsapi.Protocol{awsapi.RPCv2CBOR}, TargetPrefix: "EchoCbor"},
	}
	for _, s := range svcs {
		s.Desc, s.Impl, s.Exception = base.Desc, base.Impl, base.Exception
		if err := fd.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	err := fd.Register(awsapi.Service{Name: "s3", SigningName: "s3", Protocols: []awsapi.Protocol{awsapi.RESTXML}, Exception: exceptions,
		Handler: func(w http.ResponseWriter, r *http.Request, s awsapi.Signing) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%s %s %d bytes payload=%s presigned=%v", r.Method, r.URL.Path, len(b), s.PayloadHash, s.Presigned)
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fd)
	t.Cleanup(srv.Close)
	return srv, calls
}

// send signs req for service (unless service is "") and sends it.
func send(t *testing.T, req *http.Request, service string, body []byte, at time.Time) (*http.Response, []byte) {
	t.Helper()
	if service != "" {
		hash := fmt.Sprintf("%x", sha(body))
		if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" {
			hash = h
		}
		creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
		s3 := func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }
		if err := v4.NewSigner(s3).SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func post(t *testing.T, url, contentType string, headers map[string]string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

func TestJSONProtocols(t *testing.T) {
	srv, calls := frontDoor(t)
	for _, tt := range []struct{ service, target, contentType string }{
		{"json10", "Echo_20240101.Echo", "application/x-amz-json-1.0"},
		{"json11", "EchoV11.Echo", "application/x-amz-json-1.1"},
	} {
		t.Run(tt.service, func(t *testing.T) {
			body := []byte(`{"taskDefinition":"web:3","count":2,"enableECSManagedTags":true,"tags":[{"key":"k","value":"v"}]}`)
			resp, b := send(t, post(t, srv.URL+"/", tt.contentType, map[string]string{"X-Amz-Target": tt.target}, body), tt.service, body, time.Now())
			got := &berthv1.RunTaskRequest{}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.contentType || json.Unmarshal(b, &map[string]any{}) != nil {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if err := unmarshal(b, got); err != nil || got.TaskDefinition != "web:3" || got.Count != 2 || !got.EnableEcsManagedTags || got.Tags[0].GetValue() != "v" {
				t.Fatalf("echo: %v %s", err, b)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no request id")
			}

			// Errors, each in the JSON shape with the service's names.
			bad := []byte(`{"taskDefinition":"web","tags":[{"kee":"k"}]}`)
			resp, b = send(t, post(t, srv.URL+"/", tt.contentType, map[string]string{"X-Amz-Target": tt.target}, bad), tt.service, bad, time.Now())
			wantJSONError(t, resp, b, 400, "ValidationException", "tags[0].kee: unknown field")
			missing := []byte(`{"taskDefinition":"web","group":"missing"}`)
			resp, b = send(t, post(t, srv.URL+"/", tt.contentType, map[string]string{"X-Amz-Target": tt.target}, missing), tt.service, missing, time.Now())
			wantJSONError(t, resp, b, 404, "ResourceNotFoundException", `thing "web" not found`)
		})
	}
	if *calls != 4 {
		t.Errorf("the interceptor saw %d calls, want 4 (handlers run through it)", *calls)
	}
}

// A handler finds the request's X-Amzn-Trace-Id in its context.
func TestTraceHeader(t *testing.T) {
	srv, _ := frontDoor(t)
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bb0a5:3"
	// A header longer than 2 KiB is not kept.
	for _, c := range []struct{ sent, kept string }{{trace, trace}, {"", ""}, {trace + ";" + strings.Repeat("x", 2048), ""}} {
		body := []byte(`{"taskDefinition":"web","group":"trace"}`)
		headers := map[string]string{"X-Amz-Target": "EchoV11.Echo"}
		if c.sent != "" {
			headers["X-Amzn-Trace-Id"] = c.sent
		}
		resp, b := send(t, post(t, srv.URL+"/", "application/x-amz-json-1.1", headers, body), "json11", body, time.Now())
		got := &berthv1.RunTaskRequest{}
		if err := unmarshal(b, got); resp.StatusCode != 200 || err != nil || got.StartedBy != c.kept {
			t.Fatalf("%d %v %.200s; want the trace header %q", resp.StatusCode, err, b, c.kept)
		}
	}
}

func TestRESTJSON(t *testing.T) {
	srv, _ := frontDoor(t)
	body := []byte(`{"startedBy":"me","tags":[{"key":"k","value":"v"}]}`)
	req := post(t, srv.URL+"/2024-01-01/echo/web%3A3?Count=4", "application/json", map[string]string{"X-Group": "g"}, body)
	resp, b := send(t, req, "rest", body, time.Now())
	if resp.StatusCode != 201 || resp.Header.Get("X-Started-By") != "me" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	got := &berthv1.RunTaskRequest{}
	if err := unmarshal(b, got); err != nil || got.TaskDefinition != "web:3" || got.Count != 4 || got.Group != "g" || got.StartedBy != "" || len(got.Tags) != 1 {
		t.Fatalf("echo: %v %s", err, b)
	}

	// A trailing slash names the same resource, as botocore writes some URIs.
	req = post(t, srv.URL+"/2024-01-01/echo/web/?Count=2", "application/json", nil, nil)
	resp, b = send(t, req, "rest", nil, time.Now())
	if got := (&berthv1.RunTaskRequest{}); resp.StatusCode != 201 || unmarshal(b, got) != nil || got.TaskDefinition != "web" || got.Count != 2 {
		t.Fatalf("trailing slash: %d %s", resp.StatusCode, b)
	}

	req = post(t, srv.URL+"/2024-01-01/echo/web?Count=four", "application/json", nil, nil)
	resp, b = send(t, req, "rest", nil, time.Now())
	wantRESTError(t, resp, b, 400, "ValidationException", "count: query parameter Count")
	req = post(t, srv.URL+"/2024-01-01/echo/web", "application/json", map[string]string{"X-Group": "missing"}, nil)
	resp, b = send(t, req, "rest", nil, time.Now())
	wantRESTError(t, resp, b, 404, "ResourceNotFoundException", "not found")
	req = post(t, srv.URL+"/2024-01-01/nothing", "application/json", nil, nil)
	resp, b = send(t, req, "rest", nil, time.Now())
	wantRESTError(t, resp, b, 404, "UnknownOperationException", "no operation of rest")
}

func TestQuery(t *testing.T) {
	srv, _ := frontDoor(t)
	form := url.Values{"Action": {"Echo"}, "Version": {"2024-01-01"}, "taskDefinition": {"web:3"}, "count": {"5"},
		"enableECSManagedTags": {"true"}, "tags.member.1.key": {"a"}, "tags.member.1.value": {"1"}, "tags.member.2.key": {"b"}}
	body := []byte(form.Encode())
	resp, b := send(t, post(t, srv.URL+"/", "application/x-www-form-urlencoded; charset=utf-8", nil, body), "query", body, time.Now())
	var doc struct {
		XMLName xml.Name
		Result  struct {
			TaskDefinition string `xml:"taskDefinition"`
			Count          int    `xml:"count"`
			Tags           []struct {
				Key string `xml:"key"`
			} `xml:"tags>member"`
		} `xml:"EchoResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || resp.StatusCode != 200 || doc.XMLName.Local != "EchoResponse" ||
		doc.Result.TaskDefinition != "web:3" || doc.Result.Count != 5 || len(doc.Result.Tags) != 2 || doc.Result.Tags[1].Key != "b" || doc.RequestID == "" {
		t.Fatalf("%d %v %s", resp.StatusCode, err, b)
	}
	for _, tt := range []struct {
		form            url.Values
		status          int
		code, inMessage string
	}{
		{url.Values{"Action": {"Echo"}, "tags.member.x.key": {"a"}}, 400, "ValidationException", "tags: list index"},
		{url.Values{"Action": {"Echo"}, "nope": {"a"}}, 400, "ValidationException", "nope: unknown field"},
		{url.Values{"Action": {"Launch"}}, 400, "InvalidAction", "no operation"},
		{url.Values{"Action": {"Echo"}, "group": {"missing"}}, 404, "ResourceNotFoundException", "not found"},
	} {
		body := []byte(tt.form.Encode())
		resp, b := send(t, post(t, srv.URL+"/", "application/x-www-form-urlencoded", nil, body), "query", body, time.Now())
		var e struct {
			Error struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(b, &e); err != nil || resp.StatusCode != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.inMessage) {
			t.Errorf("%v: %d %s, want %d %s ~%q", tt.form, resp.StatusCode, b, tt.status, tt.code, tt.inMessage)
		}
	}
	// Unsigned: the query protocol's own name for it.
	resp, b = send(t, post(t, srv.URL+"/", "application/x-www-form-urlencoded", nil, body), "", body, time.Now())
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>MissingAuthenticationToken</Code>")) {
		t.Errorf("unsigned: %d %s", resp.StatusCode, b)
	}
}

func TestRPCv2CBOR(t *testing.T) {
	srv, _ := frontDoor(t)
	body, _ := cbor.Marshal(map[string]any{"taskDefinition": "web:3", "count": 7, "enableECSManagedTags": true,
		"tags": []any{map[string]any{"key": "k", "value": "v"}}})
	hdr := map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Accept": "application/cbor"}
	resp, b := send(t, post(t, srv.URL+"/service/EchoCbor/operation/Echo", "application/cbor", hdr, body), "cbor", body, time.Now())
	var got map[string]any
	if err := cbor.Unmarshal(b, &got); err != nil || resp.StatusCode != 200 || resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" ||
		got["taskDefinition"] != "web:3" || fmt.Sprint(got["count"]) != "7" || got["enableECSManagedTags"] != true {
		t.Fatalf("%d %v %v", resp.StatusCode, err, got)
	}
	bad, _ := cbor.Marshal(map[string]any{"count": "many"})
	resp, b = send(t, post(t, srv.URL+"/service/EchoCbor/operation/Echo", "application/cbor", hdr, bad), "cbor", bad, time.Now())
	var e map[string]string
	if err := cbor.Unmarshal(b, &e); err != nil || resp.StatusCode != 400 || e["__type"] != "ValidationException" || !strings.Contains(e["message"], "count") {
		t.Fatalf("%d %v %s", resp.StatusCode, err, e)
	}
	resp, b = send(t, post(t, srv.URL+"/service/EchoCbor/operation/Nope", "application/cbor", hdr, body), "cbor", body, time.Now())
	if cbor.Unmarshal(b, &e); resp.StatusCode != 400 || e["__type"] != "UnknownOperationException" {
		t.Fatalf("%d %v", resp.StatusCode, e)
	}
	garbage := []byte{0xff, 0x00}
	resp, b = send(t, post(t, srv.URL+"/service/EchoCbor/operation/Echo", "application/cbor", hdr, garbage), "cbor", garbage, time.Now())
	if cbor.Unmarshal(b, &e); resp.StatusCode != 400 || e["__type"] != "SerializationException" {
		t.Fatalf("%d %v", resp.StatusCode, e)
	}
}

// S3's signing forms reach a REST-XML service's handler checked; its
// failures are S3's <Error>.
func TestRESTXMLSigning(t *testing.T) {
	srv, _ := frontDoor(t)
	body := []byte("hello")
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/a%20key.txt", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", fmt.Sprintf("%x", sha(body)))
	resp, b := send(t, req, "s3", body, time.Now())
	if resp.StatusCode != 200 || string(b) != fmt.Sprintf("PUT /bucket/a key.txt 5 bytes payload=%x presigned=false", sha(body)) {
		t.Fatalf("signed payload: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", awsapi.UnsignedPayload)
	if resp, b = send(t, req, "s3", body, time.Now()); resp.StatusCode != 200 || !bytes.HasSuffix(b, []byte("payload=UNSIGNED-PAYLOAD presigned=false")) {
		t.Fatalf("unsigned payload: %d %s", resp.StatusCode, b)
	}
	// A body that is not what the signature covers fails as it is read.
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", bytes.NewReader([]byte("HELLO")))
	req.Header.Set("X-Amz-Content-Sha256", fmt.Sprintf("%x", sha(body)))
	if resp, b = send(t, req, "s3", body, time.Now()); resp.StatusCode != 400 || !bytes.Contains(b, []byte("XAmzContentSHA256Mismatch")) {
		t.Fatalf("tampered body: %d %s", resp.StatusCode, b)
	}

	// Presigned GET.
	get, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/k?X-Amz-Expires=60", nil)
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	signed, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		PresignHTTP(context.Background(), creds, get, awsapi.UnsignedPayload, "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	presigned, _ := http.NewRequest(http.MethodGet, signed, nil)
	if resp, b = send(t, presigned, "", nil, time.Now()); resp.StatusCode != 200 || !bytes.HasSuffix(b, []byte("presigned=true")) {
		t.Fatalf("presigned: %d %s", resp.StatusCode, b)
	}
	tampered, _ := http.NewRequest(http.MethodGet, strings.Replace(signed, "/bucket/k", "/bucket/other", 1), nil)
	resp, b = send(t, tampered, "", nil, time.Now())
	wantXMLError(t, resp, b, 403, "SignatureDoesNotMatch")
	old, _, _ := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		PresignHTTP(context.Background(), creds, get, awsapi.UnsignedPayload, "s3", "us-east-1", time.Now().Add(-2*time.Minute))
	expired, _ := http.NewRequest(http.MethodGet, old, nil)
	resp, b = send(t, expired, "", nil, time.Now())
	wantXMLError(t, resp, b, 403, "RequestTimeTooSkewed")

	unsigned, _ := http.NewRequest(http.MethodGet, srv.URL+"/bucket/k", nil)
	creds.SecretAccessKey = "wrong"
	resp, b = send(t, unsigned, "", nil, time.Now())
	if resp.StatusCode != 404 {
		t.Fatalf("an unsigned request to no known route: %d %s", resp.StatusCode, b)
	}
}

// Bad requests at the door: each in its protocol's shape, and no handler
// reached.
func TestDoorRefuses(t *testing.T) {
	srv, calls := frontDoor(t)
	body := []byte(`{}`)
	json11 := func(target string) *http.Request {
		return post(t, srv.URL+"/", "application/x-amz-json-1.1", map[string]string{"X-Amz-Target": target}, body)
	}
	tests := []struct {
		name    string
		req     *http.Request
		signFor string
		at      time.Time
		status  int
		code    string
	}{
		{"unknown service", json11("Nope.Echo"), "json11", time.Now(), 400, "UnknownOperationException"},
		{"unknown operation", json11("EchoV11.Launch"), "json11", time.Now(), 400, "UnknownOperationException"},
		{"signed for another service", json11("EchoV11.Echo"), "json10", time.Now(), 400, "InvalidSignatureException"},
		{"unsigned", json11("EchoV11.Echo"), "", time.Now(), 400, "MissingAuthenticationTokenException"},
		{"signed long ago", json11("EchoV11.Echo"), "json11", time.Now().Add(-time.Hour), 400, "InvalidSignatureException"},
		{"wrong JSON version", post(t, srv.URL+"/", "application/json", map[string]string{"X-Amz-Target": "EchoV11.Echo"}, body), "json11", time.Now(), 400, "SerializationException"},
		{"a JSON service asked in CBOR", post(t, srv.URL+"/service/EchoV11/operation/Echo", "application/cbor", map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}, body), "json11", time.Now(), 400, "SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := send(t, tt.req, tt.signFor, body, tt.at)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/cbor") {
				var e map[string]string
				cbor.Unmarshal(b, &e)
				if e["__type"] != tt.code {
					t.Fatalf("__type %q, want %s", e["__type"], tt.code)
				}
				return
			}
			wantJSONError(t, resp, b, tt.status, tt.code, "")
		})
	}
	wrongKey := json11("EchoV11.Echo")
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: "not the secret"}
	v4.NewSigner().SignHTTP(context.Background(), creds, wrongKey, fmt.Sprintf("%x", sha(body)), "json11", "us-east-1", time.Now())
	resp, b := send(t, wrongKey, "", body, time.Now())
	wantJSONError(t, resp, b, 400, "InvalidSignatureException", "does not match")
	if *calls != 0 {
		t.Errorf("%d calls reached a handler", *calls)
	}
}

func TestRegisterRefuses(t *testing.T) {
	fd := awsapi.New(nil, awsapi.Options{})
	for _, s := range []awsapi.Service{
		{Name: "x"},
		{Name: "x", SigningName: "x", Exception: exceptions, Desc: &echoDesc, Impl: 1},
		{Name: "x", SigningName: "x", Protocols: []awsapi.Protocol{awsapi.JSON11}, Exception: exceptions, Desc: &echoDesc, Impl: 1},
		{Name: "x", SigningName: "x", Protocols: []awsapi.Protocol{awsapi.RESTJSON}, Exception: exceptions, Desc: &echoDesc, Impl: 1},
		{Name: "x", SigningName: "x", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: "X", Desc: &echoDesc, Impl: 1},
	} {
		if err := fd.Register(s); err == nil {
			t.Errorf("registered %+v", s)
		}
	}
}

func wantJSONError(t *testing.T, resp *http.Response, b []byte, status int, code, inMessage string) {
	t.Helper()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != status || e.Type != code || resp.Header.Get("X-Amzn-Errortype") != code || !strings.Contains(e.Message, inMessage) {
		t.Fatalf("got %d %s (%s), want %d %s containing %q", resp.StatusCode, b, resp.Header.Get("X-Amzn-Errortype"), status, code, inMessage)
	}
}

func wantRESTError(t *testing.T, resp *http.Response, b []byte, status int, code, inMessage string) {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != status || resp.Header.Get("X-Amzn-Errortype") != code || !strings.Contains(e.Message, inMessage) {
		t.Fatalf("got %d %s (%s), want %d %s containing %q", resp.StatusCode, b, resp.Header.Get("X-Amzn-Errortype"), status, code, inMessage)
	}
}

func wantXMLError(t *testing.T, resp *http.Response, b []byte, status int, code string) {
	t.Helper()
	var e struct {
		XMLName xml.Name
		Code    string
	}
	if err := xml.Unmarshal(b, &e); err != nil || resp.StatusCode != status || e.XMLName.Local != "Error" || e.Code != code {
		t.Fatalf("got %d %s, want %d <Error><Code>%s", resp.StatusCode, b, status, code)
	}
}

func unmarshal(b []byte, m proto.Message) error {
	return awsjsonUnmarshal(b, m)
}

// An error's field path and berth's own words, beside the service's text,
// are extra members of every JSON-shaped error body.
func TestErrorFieldAndDetail(t *testing.T) {
	srv, _ := frontDoor(t)
	want := map[string]string{"message": "The thing is invalid.", "field": "taskDefinition", "detail": `taskDefinition: "web" is not a thing`}
	check := func(name string, resp *http.Response, e map[string]string) {
		t.Helper()
		for k, v := range want {
			if e[k] != v {
				t.Errorf("%s: %s = %q, want %q (%d %v)", name, k, e[k], v, resp.StatusCode, e)
			}
		}
	}
	body := []byte(`{"taskDefinition":"web","group":"worded"}`)
	resp, b := send(t, post(t, srv.URL+"/", "application/x-amz-json-1.1", map[string]string{"X-Amz-Target": "EchoV11.Echo"}, body), "json11", body, time.Now())
	var e map[string]string
	json.Unmarshal(b, &e)
	check("json11", resp, e)
	if e["__type"] != "ValidationException" {
		t.Errorf("json11: __type %q", e["__type"])
	}

	req := post(t, srv.URL+"/2024-01-01/echo/web", "application/json", map[string]string{"X-Group": "worded"}, nil)
	resp, b = send(t, req, "rest", nil, time.Now())
	e = nil
	json.Unmarshal(b, &e)
	check("rest-json", resp, e)

	cb, _ := cbor.Marshal(map[string]any{"taskDefinition": "web", "group": "worded"})
	hdr := map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Accept": "application/cbor"}
	resp, b = send(t, post(t, srv.URL+"/service/EchoCbor/operation/Echo", "application/cbor", hdr, cb), "cbor", cb, time.Now())
	e = nil
	cbor.Unmarshal(b, &e)
	check("cbor", resp, e)

	// An error in berth's own words names its field, with no detail.
	bad := []byte(`{"count":"many"}`)
	resp, b = send(t, post(t, srv.URL+"/", "application/x-amz-json-1.1", map[string]string{"X-Amz-Target": "EchoV11.Echo"}, bad), "json11", bad, time.Now())
	e = nil
	json.Unmarshal(b, &e)
	if _, has := e["detail"]; e["field"] != "count" || has {
		t.Errorf("berth's own words: %d %v", resp.StatusCode, e)
	}
}
