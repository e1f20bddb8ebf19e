package smapi_test

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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func start(t *testing.T) (*cptest.Cluster, string) {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	return cptest.Start(t, controlplane.Config{DataDir: dir}), dir
}

// sdk is aws-sdk-go-v2's Secrets Manager client pointed at berth.
func sdk(t *testing.T, cp *controlplane.ControlPlane) *secretsmanager.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return secretsmanager.New(secretsmanager.Options{
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

const password = "tr0ub4dor-and-3"

// Secrets Manager through aws-sdk-go-v2's client on its JSON wire: versions
// and stages, deletion and restore, errors, no plaintext in the state file.
func TestSDKSecretsManager(t *testing.T) {
	c, dir := start(t)
	client := sdk(t, c.CP)
	ctx := context.Background()

	created, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("prod/db"), Description: aws.String("the database"),
		SecretString: aws.String(`{"username":"app","password":"` + password + `"}`),
		Tags:         []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.ARN)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-") || len(arn) != len("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-")+6 {
		t.Fatalf("ARN %s", arn)
	}
	v1 := aws.ToString(created.VersionId)
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String("x")}); code(err) != "ResourceExistsException" {
		t.Fatalf("create twice: %v", err)
	}
	bin, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("tls/key"), SecretBinary: []byte{0, 1, 2, 255}})
	if err != nil {
		t.Fatal(err)
	}

	got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db")})
	if err != nil || !strings.Contains(aws.ToString(got.SecretString), password) || aws.ToString(got.VersionId) != v1 ||
		strings.Join(got.VersionStages, ",") != "AWSCURRENT" || aws.ToString(got.ARN) != arn {
		t.Fatalf("get: %+v, %v", got, err)
	}
	gotBin, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: bin.ARN})
	if err != nil || !bytes.Equal(gotBin.SecretBinary, []byte{0, 1, 2, 255}) || gotBin.SecretString != nil {
		t.Fatalf("get binary: %+v, %v", gotBin, err)
	}

	// A new value: AWSCURRENT moves, the old version becomes AWSPREVIOUS; a
	// retry with the same token changes nothing.
	token := "00000000-0000-4000-8000-000000000002"
	put, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(`{"password":"new"}`), ClientRequestToken: aws.String(token)})
	if err != nil || aws.ToString(put.VersionId) != token || strings.Join(put.VersionStages, ",") != "AWSCURRENT" {
		t.Fatalf("put: %+v, %v", put, err)
	}
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(`{"password":"new"}`), ClientRequestToken: aws.String(token)}); err != nil {
		t.Fatalf("idempotent retry: %v", err)
	}
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("other"), ClientRequestToken: aws.String(token)}); code(err) != "ResourceExistsException" {
		t.Fatalf("same token, another value: %v", err)
	}
	prev, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.VersionId) != v1 {
		t.Fatalf("AWSPREVIOUS: %+v, %v", prev, err)
	}
	pending, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/db"), SecretString: aws.String(`{"password":"next"}`), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}

	// A stage on two versions at once is refused; named, it moves.
	if _, err := client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: pending.VersionId}); code(err) != "InvalidParameterException" {
		t.Fatalf("move AWSCURRENT without RemoveFromVersionId: %v", err)
	}
	if _, err := client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("prod/db"), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: pending.VersionId, RemoveFromVersionId: aws.String(token)}); err != nil {
		t.Fatal(err)
	}
	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("prod/db")})
	if err != nil || aws.ToString(desc.Description) != "the database" || len(desc.Tags) != 1 ||
		strings.Join(desc.VersionIdsToStages[aws.ToString(pending.VersionId)], ",") != "AWSPENDING,AWSCURRENT" ||
		strings.Join(desc.VersionIdsToStages[token], ",") != "AWSPREVIOUS" || desc.VersionIdsToStages[v1] != nil {
		t.Fatalf("describe: %+v, %v", desc, err)
	}
	versions, err := client.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("prod/db"), IncludeDeprecated: aws.Bool(true)})
	if err != nil || len(versions.Versions) != 3 {
		t.Fatalf("list versions: %+v, %v", versions, err)
	}

	upd, err := client.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String("tls/key"), Description: aws.String("TLS"), SecretString: aws.String("pem")})
	if err != nil || upd.VersionId == nil {
		t.Fatalf("update: %+v, %v", upd, err)
	}

	// Bad input.
	for what, err := range map[string]error{
		"over 64 KB": func() error {
			_, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/db"), SecretString: aws.String(strings.Repeat(password, 5000))})
			return err
		}(),
		"both values": func() error {
			_, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String(password), SecretBinary: []byte(password)})
			return err
		}(),
		"bad name": func() error {
			_, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("no spaces"), SecretString: aws.String(password)})
			return err
		}(),
	} {
		if code(err) != "InvalidParameterException" || strings.Contains(err.Error(), password) {
			t.Errorf("%s: %v", what, err)
		}
	}
	var notFound *types.ResourceNotFoundException
	if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}); !errors.As(err, &notFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn[:len(arn)-6] + "zzzzzz")}); !errors.As(err, &notFound) {
		t.Errorf("wrong suffix: %v", err)
	}

	// Deletion: scheduled, refused for reads, listed only on request, restored.
	del, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("prod/db"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || del.DeletionDate == nil {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	var invalid *types.InvalidRequestException
	if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("prod/db")}); !errors.As(err, &invalid) {
		t.Errorf("get a deleted secret: %v", err)
	}
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String("x")}); !errors.As(err, &invalid) {
		t.Errorf("create over a deleted secret: %v", err)
	}
	list, err := client.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if err != nil || len(list.SecretList) != 1 || aws.ToString(list.SecretList[0].Name) != "tls/key" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	list, err = client.ListSecrets(ctx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true),
		Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"prod/"}}}})
	if err != nil || len(list.SecretList) != 1 || list.SecretList[0].DeletedDate == nil {
		t.Fatalf("list with planned deletion: %+v, %v", list, err)
	}
	if _, err := client.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("prod/db")}); err != nil {
		t.Fatal(err)
	}

	// Resolve, as a task definition's secrets name them.
	res := c.CP.Secrets()
	if v, err := res.Resolve(ctx, arn+":password:AWSPREVIOUS:"); err != nil || v != "new" {
		t.Fatalf("resolve a JSON key of AWSPREVIOUS: %q, %v", v, err)
	}
	if v, err := res.Resolve(ctx, arn+":password::"+v1); err != nil || v != password {
		t.Fatalf("resolve a JSON key of a version: %v", err)
	}
	if v, err := res.Resolve(ctx, arn); err != nil || v != `{"password":"next"}` {
		t.Fatalf("resolve the whole secret: %v", err)
	}
	if _, err := res.Resolve(ctx, arn+":host::"); err == nil || strings.Contains(err.Error(), "next") {
		t.Fatalf("resolve a missing key: %v", err)
	}

	state, err := os.ReadFile(filepath.Join(dir, controlplane.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(state, []byte(password)) || bytes.Contains(state, []byte("pem")) {
		t.Fatal("the state file holds a plaintext value")
	}

	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("prod/db"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("prod/db")}); !errors.As(err, &notFound) {
		t.Errorf("describe after a forced delete: %v", err)
	}
}
