package lambdaapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/lambdaapi"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is a hand-written Invoker: it answers the payload it was given,
// {"fail":...} as a function error, {"throttle":true} as a throttle, and
// counts its calls.
type fake struct {
	mu    sync.Mutex
	calls []invoke.Request
	fail  bool // every invocation is a function error
}

func (f *fake) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	fail := f.fail
	f.mu.Unlock()
	var p map[string]any
	json.Unmarshal(req.Payload, &p)
	if p["throttle"] == true {
		e := apierr.New(apierr.ResourceExhausted, invoke.ReasonReservedConcurrency, "Rate Exceeded.")
		return invoke.Result{}, e
	}
	if fail || p["fail"] != nil {
		return invoke.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), Log: []byte("START\nboom\nEND\n"), Duration: 3 * time.Millisecond}, nil
	}
	return invoke.Result{Payload: req.Payload, Log: []byte("START RequestId: " + req.RequestID + "\nEND\n"), Duration: 1500 * time.Microsecond}, nil
}

func (f *fake) Calls() []invoke.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]invoke.Request(nil), f.calls...)
}

type env struct {
	srv     *lambdaapi.Server
	client  *sdk.Client
	fake    *fake
	store   *store.Store
	url     string
	dataDir string
	stop    func()
}

const keyID, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func start(t *testing.T, st *store.Store, cfg lambdaapi.Config) *env {
	t.Helper()
	if st == nil {
		st = storetest.Open(t)
	}
	f := &fake{}
	cfg.Store, cfg.Region, cfg.Account = st, "us-east-1", "123456789012"
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Invoker == nil {
		cfg.Invoker = f
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 10 * time.Millisecond
	}
	var front *awsapi.FrontDoor
	if cfg.URLAuthenticate == nil {
		cfg.URLAuthenticate = func(r *http.Request, body []byte) error { return front.Verify(r, "lambda", body) }
	}
	s := lambdaapi.New(cfg)
	front = awsapi.New(awsapi.Keys{keyID: secret}, awsapi.Options{})
	if err := front.Register(lambdaapi.Wire(s)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(front)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			hs.Close()
		}
	}
	t.Cleanup(stop)
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	client := sdk.New(sdk.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		HTTPClient:  httpClient, RetryMaxAttempts: 1,
	})
	return &env{srv: s, client: client, fake: f, store: st, url: hs.URL, dataDir: cfg.DataDir, stop: stop}
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// zipOf is a zip with the named files.
func zipOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("#!/bin/sh\necho hi\n"))
	}
	w.Close()
	return buf.Bytes()
}

const role = "arn:aws:iam::123456789012:role/lambda-role"

func (e *env) create(t *testing.T, name string) *sdk.CreateFunctionOutput {
	t.Helper()
	out, err := e.client.CreateFunction(context.Background(), &sdk.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), PackageType: types.PackageTypeImage,
		Code: &types.FunctionCode{ImageUri: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:latest")},
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	e.active(t, name)
	return out
}

func (e *env) active(t *testing.T, name string) {
	t.Helper()
	eventually(t, name+" Active", func() bool {
		out, err := e.client.GetFunctionConfiguration(context.Background(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		return err == nil && out.State == types.StateActive && out.LastUpdateStatus == types.LastUpdateStatusSuccessful
	})
}

// The function's life through aws-sdk-go-v2's Lambda client: create
// (Pending, then Active), get, list with paging, update, publish, aliases,
// delete.
func TestSDKFunctions(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client

	zipped := zipOf(t, "bootstrap")
	out, err := c.CreateFunction(ctx, &sdk.CreateFunctionInput{
		FunctionName: aws.String("zipfn"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: zipped}, MemorySize: aws.Int32(256), Timeout: aws.Int32(30),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "hi"}},
		Tags:        map[string]string{"team": "core"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.StatePending || aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:zipfn" ||
		aws.ToInt32(out.MemorySize) != 256 || aws.ToInt32(out.Timeout) != 30 || out.PackageType != types.PackageTypeZip ||
		aws.ToString(out.Version) != "$LATEST" || out.CodeSize != int64(len(zipped)) || out.StateReasonCode != types.StateReasonCodeCreating {
		t.Fatalf("create answered %+v", out)
	}
	if aws.ToInt32(out.EphemeralStorage.Size) != 512 || out.Environment.Variables["GREETING"] != "hi" {
		t.Fatalf("defaults: %+v %+v", out.EphemeralStorage, out.Environment)
	}
	if _, err := os.Stat(lambdaapi.CodePath(e.dataDir, aws.ToString(out.CodeSha256))); err != nil {
		t.Fatalf("zip not kept: %v", err)
	}
	e.active(t, "zipfn")
	if _, err := c.CreateFunction(ctx, &sdk.CreateFunctionInput{FunctionName: aws.String("zipfn"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipped}}); code(err) != "ResourceConflictException" {
		t.Fatalf("second create: %v", err)
	}
	for i := range 4 {
		e.create(t, fmt.Sprintf("img%d", i))
	}
	got, err := c.GetFunction(ctx, &sdk.GetFunctionInput{FunctionName: aws.String("zipfn")})
	if err != nil || got.Tags["team"] != "core" || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Fatalf("get: %+v %v", got, err)
	}
	// Paging: 5 functions, 2 a page.
	var names []string
	p := sdk.NewListFunctionsPaginator(c, &sdk.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "img0,img1,img2,img3,zipfn" {
		t.Fatalf("listed %v", names)
	}
	// Update, publish, alias.
	up, err := c.UpdateFunctionConfiguration(ctx, &sdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("zipfn"), MemorySize: aws.Int32(512), Description: aws.String("v1")})
	if err != nil || up.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToInt32(up.MemorySize) != 512 {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &sdk.UpdateFunctionConfigurationInput{FunctionName: aws.String("zipfn"), MemorySize: aws.Int32(1024)}); code(err) != "ResourceConflictException" && err != nil {
		t.Fatalf("update while in progress: %v", err)
	}
	e.active(t, "zipfn")
	v1, err := c.PublishVersion(ctx, &sdk.PublishVersionInput{FunctionName: aws.String("zipfn")})
	if err != nil || aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:zipfn:1" {
		t.Fatalf("publish: %+v %v", v1, err)
	}
	again, err := c.PublishVersion(ctx, &sdk.PublishVersionInput{FunctionName: aws.String("zipfn")})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Fatalf("publish unchanged made %v, %v", aws.ToString(again.Version), err)
	}
	if _, err := c.UpdateFunctionCode(ctx, &sdk.UpdateFunctionCodeInput{FunctionName: aws.String("zipfn"), ZipFile: zipOf(t, "bootstrap", "extra"), Publish: true}); err != nil {
		t.Fatal(err)
	}
	vs, err := c.ListVersionsByFunction(ctx, &sdk.ListVersionsByFunctionInput{FunctionName: aws.String("zipfn")})
	if err != nil || len(vs.Versions) != 3 || aws.ToString(vs.Versions[0].Version) != "$LATEST" || aws.ToString(vs.Versions[2].Version) != "2" {
		t.Fatalf("versions: %v %v", vs, err)
	}
	alias, err := c.CreateAlias(ctx, &sdk.CreateAliasInput{FunctionName: aws.String("zipfn"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}}})
	if err != nil || aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:123456789012:function:zipfn:live" || alias.RoutingConfig.AdditionalVersionWeights["2"] != 0.25 {
		t.Fatalf("alias: %+v %v", alias, err)
	}
	if _, err := c.CreateAlias(ctx, &sdk.CreateAliasInput{FunctionName: aws.String("zipfn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); code(err) != "ResourceConflictException" {
		t.Fatalf("alias twice: %v", err)
	}
	if _, err := c.CreateAlias(ctx, &sdk.CreateAliasInput{FunctionName: aws.String("zipfn"), Name: aws.String("bad"), FunctionVersion: aws.String("9")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("alias of a missing version: %v", err)
	}
	cfg, err := c.GetFunctionConfiguration(ctx, &sdk.GetFunctionConfigurationInput{FunctionName: aws.String("zipfn:live")})
	if err != nil || aws.ToString(cfg.Version) != "1" {
		t.Fatalf("by alias: %+v %v", cfg, err)
	}
	if _, err := c.UpdateAlias(ctx, &sdk.UpdateAliasInput{FunctionName: aws.String("zipfn"), Name: aws.String("live"), FunctionVersion: aws.String("2"), RoutingConfig: &types.AliasRoutingConfiguration{}}); err != nil {
		t.Fatal(err)
	}
	as, err := c.ListAliases(ctx, &sdk.ListAliasesInput{FunctionName: aws.String("zipfn")})
	if err != nil || len(as.Aliases) != 1 || aws.ToString(as.Aliases[0].FunctionVersion) != "2" {
		t.Fatalf("aliases: %+v %v", as, err)
	}
	if _, err := c.DeleteFunction(ctx, &sdk.DeleteFunctionInput{FunctionName: aws.String("zipfn"), Qualifier: aws.String("2")}); code(err) != "ResourceConflictException" {
		t.Fatalf("delete a version an alias names: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &sdk.DeleteFunctionInput{FunctionName: aws.String("zipfn"), Qualifier: aws.String("1")}); err != nil {
		t.Fatalf("delete version 1: %v", err)
	}
	if _, err := c.DeleteAlias(ctx, &sdk.DeleteAliasInput{FunctionName: aws.String("zipfn"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, &sdk.DeleteFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:zipfn")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx, &sdk.GetFunctionInput{FunctionName: aws.String("zipfn")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:zipfn" || aws.ToString(nf.Type) != "User" {
		t.Fatalf("get deleted: %v", err)
	}
}
