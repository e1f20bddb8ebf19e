package lambdaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/lambdaapi"
)

// Reserved concurrency against the account's limit (here 200: at most 100
// reserved), GetAccountSettings, and the reservation reaching the Invoker.
func TestConcurrency(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{AccountConcurrency: 200})
	ctx := context.Background()
	c := e.client
	e.create(t, "a")
	e.create(t, "b")
	if _, err := c.PutFunctionConcurrency(ctx, &sdk.PutFunctionConcurrencyInput{FunctionName: aws.String("a"), ReservedConcurrentExecutions: aws.Int32(60)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutFunctionConcurrency(ctx, &sdk.PutFunctionConcurrencyInput{FunctionName: aws.String("b"), ReservedConcurrentExecutions: aws.Int32(41)})
	var ip *types.InvalidParameterValueException
	if !errors.As(err, &ip) || aws.ToString(ip.Message) != "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]." {
		t.Fatalf("over the account: %v", err)
	}
	if _, err := c.PutFunctionConcurrency(ctx, &sdk.PutFunctionConcurrencyInput{FunctionName: aws.String("b"), ReservedConcurrentExecutions: aws.Int32(-1)}); code(err) != "ValidationException" {
		t.Fatalf("negative: %v", err)
	}
	set, err := c.GetAccountSettings(ctx, &sdk.GetAccountSettingsInput{})
	if err != nil || set.AccountLimit.ConcurrentExecutions != 200 || aws.ToInt32(set.AccountLimit.UnreservedConcurrentExecutions) != 140 || set.AccountUsage.FunctionCount != 2 || set.AccountLimit.TotalCodeSize != 80530636800 {
		t.Fatalf("account settings: %+v %+v %v", set.AccountLimit, set.AccountUsage, err)
	}
	got, err := c.GetFunctionConcurrency(ctx, &sdk.GetFunctionConcurrencyInput{FunctionName: aws.String("a")})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 60 {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := c.Invoke(ctx, &sdk.InvokeInput{FunctionName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if calls := e.fake.Calls(); calls[len(calls)-1].Function.ReservedConcurrency != 60 {
		t.Fatalf("the invoker saw reserved concurrency %d", calls[len(calls)-1].Function.ReservedConcurrency)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &sdk.DeleteFunctionConcurrencyInput{FunctionName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetFunctionConcurrency(ctx, &sdk.GetFunctionConcurrencyInput{FunctionName: aws.String("a")}); err != nil || got.ReservedConcurrentExecutions != nil {
		t.Fatalf("after delete: %+v %v", got, err)
	}
}

// Resource-based policies as Lambda writes them, and the check another
// service's event passes through invoke.EventSource.
func TestPolicyAndEventSource(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	c := e.client
	e.create(t, "f")
	st, err := c.AddPermission(ctx, &sdk.AddPermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::photos"), SourceAccount: aws.String("123456789012")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::photos"},"StringEquals":{"AWS:SourceAccount":"123456789012"}}}`
	if aws.ToString(st.Statement) != want {
		t.Fatalf("statement\n%s\nwant\n%s", aws.ToString(st.Statement), want)
	}
	if _, err := c.AddPermission(ctx, &sdk.AddPermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")}); code(err) != "ResourceConflictException" {
		t.Fatalf("same sid: %v", err)
	}
	for _, bad := range []*sdk.AddPermissionInput{
		{FunctionName: aws.String("f"), StatementId: aws.String("a b"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")},
		{FunctionName: aws.String("f"), StatementId: aws.String("x"), Action: aws.String("s3:GetObject"), Principal: aws.String("s3.amazonaws.com")},
		{FunctionName: aws.String("f"), StatementId: aws.String("x"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), SourceAccount: aws.String("12")},
	} {
		if _, err := c.AddPermission(ctx, bad); code(err) != "ValidationException" {
			t.Errorf("bad permission %v: %v", aws.ToString(bad.StatementId), err)
		}
	}
	pol, err := c.GetPolicy(ctx, &sdk.GetPolicyInput{FunctionName: aws.String("f")})
	var doc struct {
		Version, Id string
		Statement   []map[string]any
	}
	if err != nil || json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc) != nil || doc.Version != "2012-10-17" || doc.Id != "default" || len(doc.Statement) != 1 || aws.ToString(pol.RevisionId) == "" {
		t.Fatalf("policy %v %v", aws.ToString(pol.Policy), err)
	}
	var src invoke.EventSource = e.srv
	ok := invoke.EventRequest{Function: "f", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::photos", SourceAccount: "123456789012", Payload: []byte(`{"Records":[]}`)}
	if err := src.CheckPermission(ctx, ok); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	for name, req := range map[string]invoke.EventRequest{
		"other bucket":  {Function: "f", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::other", SourceAccount: "123456789012"},
		"other service": {Function: "f", Principal: "events.amazonaws.com", SourceArn: "arn:aws:s3:::photos", SourceAccount: "123456789012"},
		"no account":    {Function: "f", Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::photos"},
	} {
		if err := src.CheckPermission(ctx, req); !apierr.Is(err, apierr.PermissionDenied) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := src.CheckPermission(ctx, invoke.EventRequest{Function: "nope", Principal: "s3.amazonaws.com"}); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("missing function: %v", err)
	}
	if err := src.InvokeEvent(ctx, ok); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event", func() bool {
		for _, r := range e.fake.Calls() {
			if string(r.Payload) == `{"Records":[]}` {
				return true
			}
		}
		return false
	})
	if _, err := c.RemovePermission(ctx, &sdk.RemovePermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("s3")}); err != nil {
		t.Fatal(err)
	}
	if err := src.CheckPermission(ctx, ok); !apierr.Is(err, apierr.PermissionDenied) {
		t.Fatalf("after removal: %v", err)
	}
	if _, err := c.GetPolicy(ctx, &sdk.GetPolicyInput{FunctionName: aws.String("f")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("no policy: %v", err)
	}
	// Tags.
	arn := "arn:aws:lambda:us-east-1:123456789012:function:f"
	if _, err := c.TagResource(ctx, &sdk.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sdk.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx, &sdk.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["b"] != "2" {
		t.Fatalf("tags: %v %v", tags, err)
	}
	if _, err := c.ListTags(ctx, &sdk.ListTagsInput{Resource: aws.String(arn + "x")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("tags of a missing function: %v", err)
	}
}

// CreateFunction's bad input: each refused with Lambda's exception.
func TestCreateFunctionBadInput(t *testing.T) {
	e := start(t, nil, lambdaapi.Config{})
	ctx := context.Background()
	img := &types.FunctionCode{ImageUri: aws.String("fn:1")}
	zip := &types.FunctionCode{ZipFile: zipOf(t, "bootstrap")}
	cases := []struct {
		name string
		in   sdk.CreateFunctionInput
		want string
	}{
		{"bad name", sdk.CreateFunctionInput{FunctionName: aws.String("a/b"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img}, "ValidationException"},
		{"long name", sdk.CreateFunctionInput{FunctionName: aws.String(string(make([]byte, 65))), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img}, "ValidationException"},
		{"memory low", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, MemorySize: aws.Int32(127)}, "ValidationException"},
		{"memory high", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, MemorySize: aws.Int32(10241)}, "ValidationException"},
		{"timeout", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, Timeout: aws.Int32(901)}, "ValidationException"},
		{"storage", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(511)}}, "ValidationException"},
		{"role", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String("admin"), PackageType: types.PackageTypeImage, Code: img}, "ValidationException"},
		{"reserved env", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, Environment: &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}}, "InvalidParameterValueException"},
		{"env too big", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, Environment: &types.Environment{Variables: map[string]string{"BIG": string(make([]byte, 4097))}}}, "InvalidParameterValueException"},
		{"image without uri", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: &types.FunctionCode{}}, "InvalidParameterValueException"},
		{"image with runtime", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, Runtime: types.RuntimeProvidedal2023}, "InvalidParameterValueException"},
		{"zip without runtime", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Code: zip}, "InvalidParameterValueException"},
		{"unknown runtime", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: "cobol", Handler: aws.String("h"), Code: zip}, "ValidationException"},
		{"deprecated runtime", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: types.RuntimePython27, Handler: aws.String("h"), Code: zip}, "InvalidParameterValueException"},
		{"not a zip", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: []byte("nope")}}, "InvalidParameterValueException"},
		{"no bootstrap", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, "main")}}, "InvalidParameterValueException"},
		{"zip from S3", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: types.RuntimePython312, Handler: aws.String("h"), Code: &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}}, "InvalidParameterValueException"},
		{"layers", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), Runtime: types.RuntimePython312, Handler: aws.String("h"), Code: zip, Layers: []string{"arn:aws:lambda:us-east-1:123456789012:layer:l:1"}}, "InvalidParameterValueException"},
		{"two architectures", sdk.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role), PackageType: types.PackageTypeImage, Code: img, Architectures: []types.Architecture{"x86_64", "arm64"}}, "ValidationException"},
	}
	for _, tc := range cases {
		if _, err := e.client.CreateFunction(ctx, &tc.in); code(err) != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want)
		}
	}
	// A managed runtime is accepted wherever AWS accepts it.
	if _, err := e.client.CreateFunction(ctx, &sdk.CreateFunctionInput{FunctionName: aws.String("py"), Role: aws.String(role), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: zipOf(t, "app.py")}}); err != nil {
		t.Fatalf("python3.12: %v", err)
	}
}
