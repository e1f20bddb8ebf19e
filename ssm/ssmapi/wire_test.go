package ssmapi_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/atrest"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// start runs a control plane on a data dir the test knows.
func start(t *testing.T) (*cptest.Cluster, string) {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	return cptest.Start(t, controlplane.Config{DataDir: dir}), dir
}

// sdk is aws-sdk-go-v2's SSM client pointed at berth.
func sdk(t *testing.T, cp *controlplane.ControlPlane) *ssm.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return ssm.New(ssm.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

const secret = "correct-horse-battery-staple"

// SSM through aws-sdk-go-v2's client on SSM's JSON wire: every operation,
// its errors, and no plaintext in the state file.
func TestSDKParameterStore(t *testing.T) {
	c, dir := start(t)
	client := sdk(t, c.CP)
	ctx := context.Background()

	put := func(in *ssm.PutParameterInput) int64 {
		t.Helper()
		out, err := client.PutParameter(ctx, in)
		if err != nil {
			t.Fatalf("put %s: %v", aws.ToString(in.Name), err)
		}
		return out.Version
	}
	put(&ssm.PutParameterInput{Name: aws.String("/app/db/password"), Value: aws.String(secret), Type: types.ParameterTypeSecureString})
	put(&ssm.PutParameterInput{Name: aws.String("/app/db/host"), Value: aws.String("db.internal"), Type: types.ParameterTypeString, Description: aws.String("where")})
	put(&ssm.PutParameterInput{Name: aws.String("/app/hosts"), Value: aws.String("a,b"), Type: types.ParameterTypeStringList})
	put(&ssm.PutParameterInput{Name: aws.String("/other/x"), Value: aws.String("x"), Type: types.ParameterTypeString,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}})
	if v := put(&ssm.PutParameterInput{Name: aws.String("/app/db/password"), Value: aws.String(secret + "-2"), Overwrite: aws.Bool(true)}); v != 2 {
		t.Fatalf("overwrite made version %d", v)
	}

	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(got.Parameter.Value) != secret+"-2" || got.Parameter.Version != 2 || got.Parameter.Type != types.ParameterTypeSecureString ||
		aws.ToString(got.Parameter.ARN) != "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password" || got.Parameter.LastModifiedDate == nil {
		t.Fatalf("get decrypted: %+v, %v", got, err)
	}
	enc, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password")})
	if err != nil || strings.Contains(aws.ToString(enc.Parameter.Value), secret) {
		t.Fatalf("get without decryption: %v", err)
	}
	old, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password:1"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(old.Parameter.Value) != secret || aws.ToString(old.Parameter.Selector) != ":1" {
		t.Fatalf("get version 1 by ARN: %+v, %v", old, err)
	}

	many, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/db/host", "/app/hosts", "/nope", "/app/db/host:7"}})
	if err != nil || len(many.Parameters) != 2 || strings.Join(many.InvalidParameters, ",") != "/nope,/app/db/host:7" {
		t.Fatalf("get parameters: %+v, %v", many, err)
	}

	var names []string
	pages := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{Path: aws.String("/app"), Recursive: aws.Bool(true), MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Parameters {
			names = append(names, aws.ToString(p.Name))
		}
	}
	if strings.Join(names, ",") != "/app/db/host,/app/db/password,/app/hosts" {
		t.Fatalf("by path, recursive, a page of 1: %v", names)
	}
	one, err := client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app")})
	if err != nil || len(one.Parameters) != 1 || aws.ToString(one.Parameters[0].Name) != "/app/hosts" {
		t.Fatalf("by path, one level: %+v, %v", one, err)
	}

	desc, err := client.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{
		{Key: aws.String("tag:team"), Values: []string{"core"}}}})
	if err != nil || len(desc.Parameters) != 1 || aws.ToString(desc.Parameters[0].Name) != "/other/x" {
		t.Fatalf("describe by tag: %+v, %v", desc, err)
	}
	desc, err = client.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{
		{Key: aws.String("Type"), Values: []string{"SecureString"}}}})
	if err != nil || len(desc.Parameters) != 1 || desc.Parameters[0].Version != 2 || aws.ToString(desc.Parameters[0].KeyId) != "alias/aws/ssm" {
		t.Fatalf("describe SecureString: %+v, %v", desc, err)
	}

	lab, err := client.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/app/db/password"), ParameterVersion: aws.Int64(1), Labels: []string{"stable", "9bad"}})
	if err != nil || lab.ParameterVersion != 1 || strings.Join(lab.InvalidLabels, ",") != "9bad" {
		t.Fatalf("label: %+v, %v", lab, err)
	}
	byLabel, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db/password:stable"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(byLabel.Parameter.Value) != secret {
		t.Fatalf("get by label: %v", err)
	}
	hist, err := client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/db/password"), WithDecryption: aws.Bool(true)})
	if err != nil || len(hist.Parameters) != 2 || strings.Join(hist.Parameters[0].Labels, ",") != "stable" || aws.ToString(hist.Parameters[1].Value) != secret+"-2" {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	if _, err := client.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/app/db/password"), ParameterVersion: aws.Int64(1), Labels: []string{"stable"}}); err != nil {
		t.Fatal(err)
	}

	// Bad input, each with SSM's exception; nothing stored is lost.
	for what, c := range map[string]struct {
		in   *ssm.PutParameterInput
		want string
	}{
		"exists":           {&ssm.PutParameterInput{Name: aws.String("/app/hosts"), Value: aws.String("c"), Type: types.ParameterTypeStringList}, "ParameterAlreadyExists"},
		"reserved prefix":  {&ssm.PutParameterInput{Name: aws.String("/aws/x"), Value: aws.String("v"), Type: types.ParameterTypeString}, "ValidationException"},
		"16 levels":        {&ssm.PutParameterInput{Name: aws.String(strings.Repeat("/a", 16)), Value: aws.String("v"), Type: types.ParameterTypeString}, "HierarchyLevelLimitExceededException"},
		"over 4 KB":        {&ssm.PutParameterInput{Name: aws.String("/big"), Value: aws.String(strings.Repeat("s", 4097)), Type: types.ParameterTypeString, Tier: types.ParameterTierStandard}, "ValidationException"},
		"over 8 KB":        {&ssm.PutParameterInput{Name: aws.String("/big"), Value: aws.String(strings.Repeat("s", 8193)), Type: types.ParameterTypeString, Tier: types.ParameterTierAdvanced}, "ValidationException"},
		"empty list item":  {&ssm.PutParameterInput{Name: aws.String("/app/hosts"), Value: aws.String("a,,b"), Type: types.ParameterTypeStringList, Overwrite: aws.Bool(true)}, "ValidationException"},
		"type change":      {&ssm.PutParameterInput{Name: aws.String("/app/hosts"), Value: aws.String("a"), Type: types.ParameterTypeSecureString, Overwrite: aws.Bool(true)}, "HierarchyTypeMismatchException"},
		"pattern mismatch": {&ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String(secret), Type: types.ParameterTypeSecureString, AllowedPattern: aws.String(`^\d+$`)}, "ParameterPatternMismatchException"},
	} {
		_, err := client.PutParameter(ctx, c.in)
		if code(err) != c.want {
			t.Errorf("%s: %v, want %s", what, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes the value: %v", what, err)
		}
	}
	hosts, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/hosts")})
	if err != nil || aws.ToString(hosts.Parameter.Value) != "a,b" || hosts.Parameter.Version != 1 {
		t.Fatalf("after the refused puts: %+v, %v", hosts, err)
	}
	var notFound *types.ParameterNotFound
	if _, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")}); !errors.As(err, &notFound) {
		t.Errorf("get missing: %v", err)
	}
	var noVersion *types.ParameterVersionNotFound
	if _, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/hosts:3")}); !errors.As(err, &noVersion) {
		t.Errorf("get missing version: %v", err)
	}
	if _, err := client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/app"), NextToken: aws.String("!!")}); code(err) != "InvalidNextToken" {
		t.Errorf("bad token: %v", err)
	}

	// The state file holds no plaintext of any value.
	state, err := os.ReadFile(filepath.Join(dir, controlplane.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(state, []byte(secret)) || bytes.Contains(state, []byte("db.internal")) {
		t.Fatal("the state file holds a plaintext value")
	}

	del, err := client.DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: []string{"/app/hosts", "/nope"}})
	if err != nil || strings.Join(del.DeletedParameters, ",") != "/app/hosts" || strings.Join(del.InvalidParameters, ",") != "/nope" {
		t.Fatalf("delete parameters: %+v, %v", del, err)
	}
	if _, err := client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/app/db/host")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/app/db/host")}); !errors.As(err, &notFound) {
		t.Errorf("delete twice: %v", err)
	}

	// Rotating the key re-encrypts: values still read, the old ciphertext is
	// gone from the file, and the key file holds one key.
	keys := berthv1.NewEncryptionKeysClient(c.Dial(t))
	if _, err := keys.RotateEncryptionKey(context.Background(), &berthv1.RotateEncryptionKeyRequest{}); err == nil {
		t.Fatal("rotation without the admin token")
	}
	rot, err := keys.RotateEncryptionKey(c.Ctx, &berthv1.RotateEncryptionKeyRequest{})
	if err != nil || rot.KeyId != 2 || rot.Reencrypted != 3 {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	after, err := client.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/db/password"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(after.Parameters[0].Value) != secret {
		t.Fatalf("after rotation: %+v, %v", after, err)
	}
	kr, err := atrest.Open(dir)
	if err != nil || kr.Keys() != 1 || kr.Primary() != 2 {
		t.Fatalf("key file after rotation: %v", err)
	}

	// Resolve: the API the agent's secrets build on.
	res := c.CP.Secrets()
	if v, err := res.Resolve(ctx, "/app/db/password"); err != nil || v != secret+"-2" {
		t.Fatalf("resolve by name: %v", err)
	}
	if v, err := res.Resolve(ctx, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password:1"); err != nil || v != secret {
		t.Fatalf("resolve by ARN and version: %v", err)
	}
	if _, err := res.Resolve(ctx, "arn:aws:ssm:us-east-1:111111111111:parameter/app/db/password"); err == nil {
		t.Fatal("resolved another account's parameter")
	}
	if _, err := res.Resolve(ctx, "/app/missing"); err == nil || !strings.Contains(err.Error(), "/app/missing") {
		t.Fatalf("resolve a missing parameter: %v", err)
	}
}
