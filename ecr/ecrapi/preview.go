package ecrapi

import (
	"context"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/ecr/registry"
)

// Lifecycle policy preview statuses (ECR's LifecyclePolicyPreviewStatus).
const (
	PreviewInProgress = "IN_PROGRESS"
	PreviewComplete   = "COMPLETE"
)

// StartLifecyclePolicyPreview implements ECR's StartLifecyclePolicyPreview:
// the policy given, or the repository's own, is evaluated against the
// repository's images at once (nothing is deleted) and the result kept with
// the repository for GetLifecyclePolicyPreview, replacing any earlier
// preview. ECR evaluates a preview in the background and answers
// IN_PROGRESS; berth's evaluation is done when the call returns, so it
// answers COMPLETE.
func (s *Server) StartLifecyclePolicyPreview(ctx context.Context, req *berthv1.StartLifecyclePolicyPreviewRequest) (*berthv1.StartLifecyclePolicyPreviewResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	text := req.GetLifecyclePolicyText()
	if text == "" {
		text = rec.GetLifecyclePolicyText()
		if text == "" {
			return nil, ecrerr.New(ecrerr.NotFound, ecrerr.LifecyclePolicyNotFoundException,
				"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.cfg.ARNs.Account)
		}
	}
	policy, err := parsePolicy(text)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	expired, imgs, err := s.expiring(ctx, name, policy, now)
	if err != nil {
		return nil, err
	}
	pushed := map[string]float64{}
	for _, img := range imgs {
		pushed[img.Digest] = epoch(img.PushedAt)
	}
	preview := &berthv1.EcrLifecyclePreview{LifecyclePolicyText: text, Status: PreviewComplete, StartedAt: epoch(now)}
	for _, e := range expired {
		preview.PreviewResults = append(preview.PreviewResults, &berthv1.LifecyclePolicyPreviewResult{
			ImageDigest: e.Digest, ImageTags: e.Tags, ImagePushedAt: pushed[e.Digest],
			Action: &berthv1.LifecyclePolicyRuleAction{Type: "EXPIRE"}, AppliedRulePriority: int32(e.RulePriority),
			StorageClass: "STANDARD",
		})
	}
	if _, err := s.updateRecord(ctx, name, func(r *berthv1.EcrRepositoryRecord) { r.LifecyclePreview = preview }); err != nil {
		return nil, err
	}
	return &berthv1.StartLifecyclePolicyPreviewResponse{RegistryId: s.cfg.ARNs.Account, RepositoryName: name,
		LifecyclePolicyText: text, Status: preview.GetStatus()}, nil
}

// GetLifecyclePolicyPreview implements ECR's GetLifecyclePolicyPreview: the
// last preview's images, filtered by imageIds or filter.tagStatus, 100 a
// page unless maxResults says fewer.
func (s *Server) GetLifecyclePolicyPreview(ctx context.Context, req *berthv1.GetLifecyclePolicyPreviewRequest) (*berthv1.GetLifecyclePolicyPreviewResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	if err := checkTagStatus("filter.tagStatus", req.GetFilter().GetTagStatus()); err != nil {
		return nil, err
	}
	ids := req.GetImageIds()
	if len(ids) > 0 && (req.GetNextToken() != "" || req.GetMaxResults() != 0) {
		return nil, ecrerr.Param("maxResults", "cannot be used with imageIds (nor can nextToken)")
	}
	if len(ids) > maxImageIDs {
		return nil, ecrerr.Param("imageIds", "at most %d ids, got %d", maxImageIDs, len(ids))
	}
	if m := req.GetMaxResults(); m < 0 || m > 100 {
		return nil, ecrerr.Param("maxResults", "must be between 1 and 100, got %d", m)
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	preview := rec.GetLifecyclePreview()
	if preview == nil {
		return nil, ecrerr.New(ecrerr.NotFound, ecrerr.LifecyclePolicyPreviewNotFoundException,
			"There is no dry run for the repository with name '%s' in the registry with id '%s'", name, s.cfg.ARNs.Account)
	}
	all := preview.GetPreviewResults()
	var results []*berthv1.LifecyclePolicyPreviewResult
	for _, r := range all {
		img := registry.Image{Digest: r.GetImageDigest(), Tags: r.GetImageTags()}
		if !matchesFilter(img, req.GetFilter().GetTagStatus(), "") {
			continue
		}
		if len(ids) > 0 && !previewNames(img, ids) {
			continue
		}
		results = append(results, r)
	}
	start := 0
	if after != "" {
		if _, err := fmt.Sscan(after, &start); err != nil || start < 0 {
			return nil, ecrerr.Param("nextToken", "is not a token returned by a previous call")
		}
	}
	out := &berthv1.GetLifecyclePolicyPreviewResponse{
		RegistryId: s.cfg.ARNs.Account, RepositoryName: name,
		LifecyclePolicyText: preview.GetLifecyclePolicyText(), Status: preview.GetStatus(),
		Summary: &berthv1.LifecyclePolicyPreviewSummary{ExpiringImageTotalCount: int32(len(all))},
	}
	if start < len(results) {
		results = results[start:]
		if len(results) > limit {
			results = results[:limit]
			out.NextToken = nextToken(fmt.Sprint(start + limit))
		}
		out.PreviewResults = results
	}
	return out, nil
}

// previewNames reports whether one of ids names img (by digest, tag or both).
func previewNames(img registry.Image, ids []*berthv1.ImageIdentifier) bool {
	for _, id := range ids {
		if _, code, _ := find([]registry.Image{img}, id); code == "" {
			return true
		}
	}
	return false
}
