package lambdaapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/berth/berth/lambda/lambdaapi"
)

// A function URL: its config through the SDK, then curl's view of it:
// 403 until a policy lets "*" invoke it, the payload format 2.0 event the
// function gets (by path and by host), and its response mapped to HTTP.
func TestFunctionURL(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client
	e.create(t, "web")
	urls := httptest.NewServer(e.srv.URLHandler())
	defer urls.Close()

	cfg, err := c.CreateFunctionUrlConfig(ctx, &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil || !strings.Contains(aws.ToString(cfg.FunctionUrl), ".lambda-url.us-east-1.localhost:") || aws.ToString(cfg.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:web" {
		t.Fatalf("create url: %+v %v", cfg, err)
	}
	if _, err := c.CreateFunctionUrlConfig(ctx, &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone}); code(err) != "ResourceConflictException" {
		t.Fatalf("second url: %v", err)
	}
	if _, err := c.CreateFunctionUrlConfig(ctx, &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), Qualifier: aws.String("1"), AuthType: types.FunctionUrlAuthTypeNone}); code(err) != "ValidationException" {
		t.Fatalf("url of a version: %v", err)
	}
	if _, err := c.CreateFunctionUrlConfig(ctx, &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), Qualifier: aws.String("live"), AuthType: "OPEN"}); code(err) != "ValidationException" {
		t.Fatalf("bad auth type: %v", err)
	}
	u, _ := url.Parse(aws.ToString(cfg.FunctionUrl))
	id := strings.Split(u.Hostname(), ".")[0]
	get := func(target, host string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", urls.URL+target, strings.NewReader(`{"x":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("Cookie", "a=1; b=2")
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/"+id+"/hello?q=1&q=2", ""); resp.StatusCode != 403 || body != `{"Message":"Forbidden"}` {
		t.Fatalf("without a policy: %d %s", resp.StatusCode, body)
	}
	if _, err := c.AddPermission(ctx, &sdk.AddPermissionInput{FunctionName: aws.String("web"), StatementId: aws.String("url"), Action: aws.String("lambda:InvokeFunctionUrl"),
		Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}
	// The fake answers the event it got: a JSON object without statusCode
	// is a 200 with that body.
	resp, body := get("/"+id+"/hello?q=1&q=2", "")
	var ev events.LambdaFunctionURLRequest
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &ev) != nil {
		t.Fatalf("by path: %d %s", resp.StatusCode, body)
	}
	if ev.Version != "2.0" || ev.RawPath != "/hello" || ev.QueryStringParameters["q"] != "1,2" || ev.Body != `{"x":1}` || ev.IsBase64Encoded ||
		strings.Join(ev.Cookies, ";") != "a=1;b=2" || ev.Headers["content-type"] != "application/json" || ev.RequestContext.HTTP.Method != "POST" ||
		ev.RequestContext.APIID != id || ev.RequestContext.AccountID != "anonymous" {
		t.Fatalf("event %+v", ev)
	}
	host := id + ".lambda-url.us-east-1.localhost"
	if resp, body := get("/by/host", host); resp.StatusCode != 200 || !strings.Contains(body, `"rawPath":"/by/host"`) {
		t.Fatalf("by host: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get("/nope/x", ""); resp.StatusCode != 403 {
		t.Fatalf("an unknown id: %d", resp.StatusCode)
	}
	if _, err := c.UpdateFunctionUrlConfig(ctx, &sdk.UpdateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get("/"+id+"/", ""); resp.StatusCode != 403 {
		t.Fatalf("AWS_IAM without a signature: %d", resp.StatusCode)
	}
	// Signed with one of berth's keys for lambda: invoked.
	signed := func(service, key string) int {
		body := []byte(`{"signed":true}`)
		req, _ := http.NewRequest("POST", urls.URL+"/"+id+"/iam", bytes.NewReader(body))
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", h)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: key}, req, h, service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := signed("lambda", secret); got != 200 {
		t.Fatalf("AWS_IAM signed: %d", got)
	}
	if got := signed("s3", secret); got != 403 {
		t.Fatalf("AWS_IAM signed for another service: %d", got)
	}
	if got := signed("lambda", "wrong"); got != 403 {
		t.Fatalf("AWS_IAM signed with a wrong key: %d", got)
	}
	got, err := c.GetFunctionUrlConfig(ctx, &sdk.GetFunctionUrlConfigInput{FunctionName: aws.String("web")})
	if err != nil || got.AuthType != types.FunctionUrlAuthTypeAwsIam || aws.ToString(got.LastModifiedTime) == "" {
		t.Fatalf("get url: %+v %v", got, err)
	}
	if _, err := c.DeleteFunctionUrlConfig(ctx, &sdk.DeleteFunctionUrlConfigInput{FunctionName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFunctionUrlConfig(ctx, &sdk.GetFunctionUrlConfigInput{FunctionName: aws.String("web")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("after delete: %v", err)
	}
}
