package ecrapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func start(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return cptest.Start(t, controlplane.Config{}).CP
}

// sdk is aws-sdk-go-v2's ECR client pointed at berth.
func sdk(t *testing.T, cp *controlplane.ControlPlane) *ecr.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

// wantException checks that err is ECR's exception name and that its
// message contains each of texts.
func wantException(t *testing.T, what string, err error, name string, texts ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != name {
		t.Errorf("%s: got %v, want %s", what, err, name)
		return
	}
	for _, s := range texts {
		if !strings.Contains(ae.ErrorMessage(), s) {
			t.Errorf("%s: message %q does not name %q", what, ae.ErrorMessage(), s)
		}
	}
}

func TestRepositoriesOverTheWire(t *testing.T) {
	cp := start(t)
	c := sdk(t, cp)
	ctx := context.Background()

	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String("team/web"),
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		Tags:                       []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryArn) != "arn:aws:ecr:us-east-1:000000000000:repository/team/web" ||
		aws.ToString(r.RepositoryUri) != "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/web" ||
		aws.ToString(r.RegistryId) != "000000000000" || r.ImageTagMutability != types.ImageTagMutabilityImmutable ||
		!r.ImageScanningConfiguration.ScanOnPush || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 ||
		r.CreatedAt == nil || time.Since(*r.CreatedAt) > time.Minute {
		t.Errorf("CreateRepository = %+v", r)
	}
	_, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	wantException(t, "a second team/web", err, "RepositoryAlreadyExistsException", "team/web")
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}

	all, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil || len(all.Repositories) != 2 || aws.ToString(all.Repositories[0].RepositoryName) != "api" {
		t.Fatalf("DescribeRepositories = %+v, %v", all, err)
	}
	first, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1)})
	if err != nil || len(first.Repositories) != 1 || first.NextToken == nil {
		t.Fatalf("page 1 = %+v, %v", first, err)
	}
	second, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1), NextToken: first.NextToken})
	if err != nil || len(second.Repositories) != 1 || aws.ToString(second.Repositories[0].RepositoryName) != "team/web" || second.NextToken != nil {
		t.Fatalf("page 2 = %+v, %v", second, err)
	}
	_, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"api", "nope"}})
	wantException(t, "describe a missing repository", err, "RepositoryNotFoundException", "'nope'", "000000000000")

	mut, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("api"), ImageTagMutability: types.ImageTagMutabilityImmutable})
	if err != nil || mut.ImageTagMutability != types.ImageTagMutabilityImmutable {
		t.Fatalf("PutImageTagMutability = %+v, %v", mut, err)
	}
	scan, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("api"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil || !scan.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("PutImageScanningConfiguration = %+v, %v", scan, err)
	}

	del, err := c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("api")})
	if err != nil || aws.ToString(del.Repository.RepositoryName) != "api" {
		t.Fatalf("DeleteRepository = %+v, %v", del, err)
	}
	_, err = c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("api")})
	wantException(t, "delete twice", err, "RepositoryNotFoundException", "'api'")
	_, err = c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("api")})
	wantException(t, "list images of a deleted repository", err, "RepositoryNotFoundException")
}

func TestBadInputPerOperation(t *testing.T) {
	cp := start(t)
	c := sdk(t, cp)
	ctx := context.Background()
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	name := aws.String("web")
	for _, tc := range []struct {
		what      string
		call      func() error
		exception string
		texts     []string
	}{
		{"name with capitals", func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Web")})
			return err
		}, "InvalidParameterException", []string{"repositoryName", "pattern"}},
		{"name of one character", func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("w")})
			return err
		}, "InvalidParameterException", []string{"repositoryName", "2 to 256"}},
		{"bad mutability", func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("x1"), ImageTagMutability: "FROZEN"})
			return err
		}, "InvalidParameterException", []string{"imageTagMutability"}},
		{"aws: tag", func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("x2"),
				Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}})
			return err
		}, "InvalidTagParameterException", []string{"tags[0].Key"}},
		{"another registry", func() error {
			_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("x3"), RegistryId: aws.String("123456789012")})
			return err
		}, "InvalidParameterException", []string{"registryId"}},
		{"describe with names and maxResults", func() error {
			_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"web"}, MaxResults: aws.Int32(2)})
			return err
		}, "InvalidParameterException", []string{"maxResults"}},
		{"maxResults over 1000", func() error {
			_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1001)})
			return err
		}, "InvalidParameterException", []string{"maxResults"}},
		{"forged nextToken", func() error {
			_, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: name, NextToken: aws.String("!!")})
			return err
		}, "InvalidParameterException", []string{"nextToken"}},
		{"bad tag status", func() error {
			_, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: name, Filter: &types.ListImagesFilter{TagStatus: "SOME"}})
			return err
		}, "InvalidParameterException", []string{"filter.tagStatus"}},
		{"describe a missing tag", func() error {
			_, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v9")}}})
			return err
		}, "ImageNotFoundException", []string{"v9", "'web'"}},
		{"describe a bad tag", func() error {
			_, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("-x")}}})
			return err
		}, "InvalidParameterException", []string{"imageIds[0].imageTag"}},
		{"batch get with no ids", func() error {
			_, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{}})
			return err
		}, "InvalidParameterException", []string{"imageIds"}},
		{"batch delete in a missing repository", func() error {
			_, err := c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("nope"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
			return err
		}, "RepositoryNotFoundException", []string{"'nope'"}},
		{"put a manifest that is not one", func() error {
			_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(`not json`),
				ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"), ImageTag: aws.String("v1")})
			return err
		}, "InvalidParameterException", []string{"imageManifest"}},
		{"put with a digest that does not match", func() error {
			_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(`{}`), ImageManifestMediaType: aws.String("application/vnd.oci.image.manifest.v1+json"),
				ImageDigest: aws.String("sha256:" + strings.Repeat("0", 64))})
			return err
		}, "ImageDigestDoesNotMatchException", []string{"imageDigest"}},
		{"put a bad tag", func() error {
			_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(`{}`), ImageTag: aws.String("a b")})
			return err
		}, "InvalidParameterException", []string{"imageTag"}},
		{"mutability of a missing repository", func() error {
			_, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("nope"), ImageTagMutability: types.ImageTagMutabilityMutable})
			return err
		}, "RepositoryNotFoundException", nil},
		{"put a manifest that names missing blobs", func() error {
			_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: name, ImageTag: aws.String("v1"), ImageManifest: aws.String(`{"schemaVersion":2,` +
				`"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json",` +
				`"digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`)})
			return err
		}, "LayersNotFoundException", []string{"sha256:aaaa"}},
	} {
		wantException(t, tc.what, tc.call(), tc.exception, tc.texts...)
	}
}

func TestGetAuthorizationToken(t *testing.T) {
	cp := start(t)
	out, err := sdk(t, cp).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil || len(out.AuthorizationData) != 1 {
		t.Fatalf("GetAuthorizationToken = %+v, %v", out, err)
	}
	d := out.AuthorizationData[0]
	b, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil || !strings.HasPrefix(string(b), "AWS:") {
		t.Errorf("authorizationToken decodes to %q, %v; want AWS:<password>", b, err)
	}
	if aws.ToString(d.ProxyEndpoint) != "http://"+cp.RegistryAddr() {
		t.Errorf("proxyEndpoint = %q, want http://%s", aws.ToString(d.ProxyEndpoint), cp.RegistryAddr())
	}
	if left := time.Until(*d.ExpiresAt); left < 11*time.Hour || left > 12*time.Hour {
		t.Errorf("expiresAt in %s, want 12h", left)
	}
}
