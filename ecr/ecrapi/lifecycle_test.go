package ecrapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth/berth/internal/cptest"
)

// TestLifecyclePolicyKeepsTwoOfFive: a policy keeping the 2 newest of 5
// tagged images deletes 3 as it is put, and their blobs leave the disk.
func TestLifecyclePolicyKeepsTwoOfFive(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	ctx := context.Background()
	cp := startOn(t, dir)
	defer stop(t, cp)
	c := sdk(t, cp)
	repo := aws.String("web")
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	wantException(t, "no policy yet", err, "LifecyclePolicyNotFoundException", "'web'")

	pw := password(t, c)
	blobs := map[string][]string{}
	for i := 1; i <= 5; i++ {
		m, bs := image(t, cp, pw, "web", fmt.Sprint(i))
		tag := fmt.Sprintf("v%d", i)
		blobs[tag] = bs
		if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageTag: aws.String(tag), ImageManifest: aws.String(m)}); err != nil {
			t.Fatal(err)
		}
	}
	bad := `{"rules":[{"rulePriority":1,"description":"keep two releases","selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`
	_, err = c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(bad)})
	wantException(t, "a tagged rule without a prefix", err, "InvalidParameterException", "rules[0].selection.tagPrefixList")

	policy := `{"rules":[{"rulePriority":1,"description":"keep two releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, id := range list.ImageIds {
		tags = append(tags, aws.ToString(id.ImageTag))
	}
	if fmt.Sprint(tags) != "[v4 v5]" {
		t.Errorf("after the policy the images are %v, want [v4 v5]", tags)
	}
	cptest.Eventually(t, "the expired images' blobs are collected", func() bool {
		for _, tag := range []string{"v1", "v2", "v3"} {
			for _, d := range blobs[tag] {
				if blobOnDisk(dir, d) {
					return false
				}
			}
		}
		return true
	})
	for _, d := range append(blobs["v4"], blobs["v5"]...) {
		if !blobOnDisk(dir, d) {
			t.Errorf("a kept image's blob %s is gone", d)
		}
	}
	got, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != policy || got.LastEvaluatedAt == nil {
		t.Errorf("GetLifecyclePolicy = %+v, %v", got, err)
	}
	if _, err := c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo})
	wantException(t, "delete twice", err, "LifecyclePolicyNotFoundException")
}
