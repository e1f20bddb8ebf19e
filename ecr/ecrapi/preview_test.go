package ecrapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// TestLifecyclePolicyPreview: a preview of a policy keeping 2 of 4 tagged
// images names the 2 oldest with the rule's priority and deletes nothing;
// a preview of the repository's own policy, paging and filters.
func TestLifecyclePolicyPreview(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	ctx := context.Background()
	cp := startOn(t, t.TempDir())
	defer stop(t, cp)
	c := sdk(t, cp)
	repo := aws.String("app")
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo})
	wantException(t, "no preview yet", err, "LifecyclePolicyPreviewNotFoundException", "'app'")
	_, err = c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo})
	wantException(t, "no policy given nor put", err, "LifecyclePolicyNotFoundException")
	_, err = c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("nope")})
	wantException(t, "no such repository", err, "RepositoryNotFoundException")

	pw := password(t, c)
	digests := map[string]string{}
	for i := 1; i <= 4; i++ {
		m, _ := image(t, cp, pw, "app", fmt.Sprint(i))
		tag := fmt.Sprintf("v%d", i)
		out, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageTag: aws.String(tag), ImageManifest: aws.String(m)})
		if err != nil {
			t.Fatal(err)
		}
		digests[tag] = aws.ToString(out.Image.ImageId.ImageDigest)
	}
	// Each PutImage is a push, in the event log.
	logged, err := cp.Store().EventLog(0, 100)
	if err != nil || len(logged) != 4 || !strings.Contains(logged[3].GetDetail(), `"image-tag":"v4"`) ||
		!strings.Contains(logged[3].GetDetail(), digests["v4"]) {
		t.Errorf("event log after 4 PutImage = %v, %v", logged, err)
	}
	bad := `{"rules":[{"rulePriority":3,"description":"keep two releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}]}`
	_, err = c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo, LifecyclePolicyText: aws.String(bad)})
	wantException(t, "a bad rule", err, "InvalidParameterException", "rules[0].selection.countNumber")

	policy := `{"rules":[{"rulePriority":3,"description":"keep two releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`
	st, err := c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo, LifecyclePolicyText: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != types.LifecyclePolicyPreviewStatusComplete || aws.ToString(st.LifecyclePolicyText) != policy || aws.ToString(st.RepositoryName) != "app" {
		t.Errorf("StartLifecyclePolicyPreview = %+v", st)
	}
	got, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != types.LifecyclePolicyPreviewStatusComplete || got.Summary == nil || aws.ToInt32(got.Summary.ExpiringImageTotalCount) != 2 {
		t.Errorf("GetLifecyclePolicyPreview = %+v, summary %+v", got, got.Summary)
	}
	var seen []string
	for _, r := range got.PreviewResults {
		seen = append(seen, fmt.Sprint(r.ImageTags))
		if r.Action == nil || r.Action.Type != types.ImageActionTypeExpire || aws.ToInt32(r.AppliedRulePriority) != 3 || r.ImagePushedAt == nil {
			t.Errorf("preview result %+v", r)
		}
		if d := aws.ToString(r.ImageDigest); d != digests[r.ImageTags[0]] {
			t.Errorf("preview result of %v has digest %s, want %s", r.ImageTags, d, digests[r.ImageTags[0]])
		}
	}
	if fmt.Sprint(seen) != "[[v1] [v2]]" {
		t.Errorf("the preview expires %v, want [[v1] [v2]]", seen)
	}
	list, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: repo})
	if err != nil || len(list.ImageIds) != 4 {
		t.Errorf("a preview deleted images: ListImages = %v, %v", list, err)
	}

	// Pages of one, an imageIds choice, a filter.
	p1, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo, MaxResults: aws.Int32(1)})
	if err != nil || len(p1.PreviewResults) != 1 || p1.NextToken == nil {
		t.Fatalf("first page %+v, %v", p1, err)
	}
	p2, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo, MaxResults: aws.Int32(1), NextToken: p1.NextToken})
	if err != nil || len(p2.PreviewResults) != 1 || p2.NextToken != nil || p2.PreviewResults[0].ImageTags[0] != "v2" {
		t.Errorf("second page %+v, %v", p2, err)
	}
	one, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo,
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v2")}}})
	if err != nil || len(one.PreviewResults) != 1 || one.PreviewResults[0].ImageTags[0] != "v2" {
		t.Errorf("by imageIds: %+v, %v", one, err)
	}
	none, err := c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo,
		Filter: &types.LifecyclePolicyPreviewFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil || len(none.PreviewResults) != 0 {
		t.Errorf("untagged filter: %+v, %v", none, err)
	}
	_, err = c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo, MaxResults: aws.Int32(101)})
	wantException(t, "maxResults over 100", err, "InvalidParameterException", "maxResults")

	// The repository's own policy, keeping 3: only v1.
	own := `{"rules":[{"rulePriority":1,"description":"keep three releases","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(own)}); err != nil {
		t.Fatal(err)
	}
	// Putting it applied it: v1 is gone, nothing left to expire.
	if _, err := c.StartLifecyclePolicyPreview(ctx, &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetLifecyclePolicyPreview(ctx, &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: repo})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != own || len(got.PreviewResults) != 0 || aws.ToInt32(got.Summary.ExpiringImageTotalCount) != 0 {
		t.Errorf("preview of the repository's own policy: %+v, %v", got, err)
	}
}
