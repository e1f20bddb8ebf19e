package ecrapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/ecr/registry"
)

// imageTarget is an image of a repository, for the image operations.
type imageTarget struct {
	rec    *berthv1.EcrRepositoryRecord
	images []registry.Image
}

func (s *Server) images(ctx context.Context, registryID, name string) (imageTarget, error) {
	if err := s.checkRegistryID(registryID); err != nil {
		return imageTarget{}, err
	}
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return imageTarget{}, err
	}
	imgs, err := s.cfg.Registry.Images(ctx, name)
	return imageTarget{rec: rec, images: imgs}, err
}

func checkTagStatus(field, st string) error {
	switch st {
	case "", "TAGGED", "UNTAGGED", "ANY":
		return nil
	}
	return ecrerr.Param(field, "must be TAGGED, UNTAGGED or ANY, got %q", st)
}

func checkImageStatus(field, st string) error {
	switch st {
	case "", "ACTIVE", "ANY":
		return nil
	case "ARCHIVED", "ACTIVATING":
		return nil // berth archives nothing: such a filter matches no image
	}
	return ecrerr.Param(field, "must be ACTIVE, ARCHIVED, ACTIVATING or ANY, got %q", st)
}

func matchesFilter(img registry.Image, tagStatus, imageStatus string) bool {
	if imageStatus == "ARCHIVED" || imageStatus == "ACTIVATING" {
		return false
	}
	switch tagStatus {
	case "TAGGED":
		return len(img.Tags) > 0
	case "UNTAGGED":
		return len(img.Tags) == 0
	}
	return true
}

// ListImages implements ECR's ListImages: one imageId per tag, and one with
// only the digest for an untagged image.
func (s *Server) ListImages(ctx context.Context, req *berthv1.ListImagesRequest) (*berthv1.ListImagesResponse, error) {
	if err := checkTagStatus("filter.tagStatus", req.GetFilter().GetTagStatus()); err != nil {
		return nil, err
	}
	if err := checkImageStatus("filter.imageStatus", req.GetFilter().GetImageStatus()); err != nil {
		return nil, err
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 1000)
	if err != nil {
		return nil, err
	}
	t, err := s.images(ctx, req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	var ids []*berthv1.ImageIdentifier
	for _, img := range t.images {
		if !matchesFilter(img, req.GetFilter().GetTagStatus(), req.GetFilter().GetImageStatus()) {
			continue
		}
		if len(img.Tags) == 0 {
			ids = append(ids, &berthv1.ImageIdentifier{ImageDigest: img.Digest})
		}
		for _, tag := range img.Tags {
			ids = append(ids, &berthv1.ImageIdentifier{ImageDigest: img.Digest, ImageTag: tag})
		}
	}
	start := 0
	if after != "" {
		if _, err := fmt.Sscan(after, &start); err != nil || start < 0 {
			return nil, ecrerr.Param("nextToken", "is not a token returned by a previous call")
		}
	}
	out := &berthv1.ListImagesResponse{}
	if start < len(ids) {
		ids = ids[start:]
		if len(ids) > limit {
			ids = ids[:limit]
			out.NextToken = nextToken(fmt.Sprint(start + limit))
		}
		out.ImageIds = ids
	}
	return out, nil
}

// find returns the image an imageId names, or a failure code and reason.
func find(images []registry.Image, id *berthv1.ImageIdentifier) (registry.Image, string, string) {
	d, tag := id.GetImageDigest(), id.GetImageTag()
	if d == "" && tag == "" {
		return registry.Image{}, "MissingDigestAndTag", "Missing image digest and tag"
	}
	if d != "" && !imageDigestRE.MatchString(d) {
		return registry.Image{}, "InvalidImageDigest", "Invalid image digest"
	}
	if tag != "" && !imageTagRE.MatchString(tag) {
		return registry.Image{}, "InvalidImageTag", "Invalid image tag"
	}
	for _, img := range images {
		hasTag := tag == ""
		for _, t := range img.Tags {
			hasTag = hasTag || t == tag
		}
		switch {
		case d != "" && img.Digest == d && !hasTag:
			return registry.Image{}, "ImageTagDoesNotMatchDigest", "Invalid image tag for image digest"
		case (d == "" || img.Digest == d) && hasTag:
			return img, "", ""
		}
	}
	return registry.Image{}, "ImageNotFound", "Requested image not found"
}

func (s *Server) detail(rec *berthv1.EcrRepositoryRecord, img registry.Image) *berthv1.ImageDetail {
	return &berthv1.ImageDetail{
		RegistryId: s.cfg.ARNs.Account, RepositoryName: rec.GetRepository().GetRepositoryName(),
		ImageDigest: img.Digest, ImageTags: img.Tags, ImageSizeInBytes: float64(img.Size),
		ImagePushedAt: epoch(img.PushedAt), ImageManifestMediaType: img.MediaType,
		ArtifactMediaType: img.ArtifactMediaType, ImageStatus: "ACTIVE",
	}
}

// DescribeImages implements ECR's DescribeImages.
func (s *Server) DescribeImages(ctx context.Context, req *berthv1.DescribeImagesRequest) (*berthv1.DescribeImagesResponse, error) {
	if err := checkTagStatus("filter.tagStatus", req.GetFilter().GetTagStatus()); err != nil {
		return nil, err
	}
	if err := checkImageStatus("filter.imageStatus", req.GetFilter().GetImageStatus()); err != nil {
		return nil, err
	}
	if n := len(req.GetImageIds()); n > maxImageIDs {
		return nil, ecrerr.Param("imageIds", "at most %d ids, got %d", maxImageIDs, n)
	}
	if len(req.GetImageIds()) > 0 && (req.GetMaxResults() != 0 || req.GetNextToken() != "") {
		return nil, ecrerr.Param("maxResults", "cannot be used with imageIds (nor can nextToken)")
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 100)
	if err != nil {
		return nil, err
	}
	t, err := s.images(ctx, req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeImagesResponse{}
	if len(req.GetImageIds()) > 0 {
		seen := map[string]bool{}
		for i, id := range req.GetImageIds() {
			img, code, _ := find(t.images, id)
			if code != "" {
				return nil, s.imageNotFound(fmt.Sprintf("imageIds[%d]", i), t.rec, id, code)
			}
			if !seen[img.Digest] {
				seen[img.Digest] = true
				out.ImageDetails = append(out.ImageDetails, s.detail(t.rec, img))
			}
		}
		return out, nil
	}
	past := after == ""
	for _, img := range t.images {
		if !past {
			past = img.Digest == after
			continue
		}
		if !matchesFilter(img, req.GetFilter().GetTagStatus(), req.GetFilter().GetImageStatus()) {
			continue
		}
		if len(out.ImageDetails) == limit {
			out.NextToken = nextToken(out.ImageDetails[limit-1].GetImageDigest())
			break
		}
		out.ImageDetails = append(out.ImageDetails, s.detail(t.rec, img))
	}
	return out, nil
}

func (s *Server) imageNotFound(field string, rec *berthv1.EcrRepositoryRecord, id *berthv1.ImageIdentifier, code string) error {
	switch code {
	case "MissingDigestAndTag":
		return ecrerr.Param(field, "give imageDigest or imageTag")
	case "InvalidImageDigest":
		return checkImageDigest(field+".imageDigest", id.GetImageDigest())
	case "InvalidImageTag":
		return checkImageTag(field+".imageTag", id.GetImageTag())
	}
	d, tag := id.GetImageDigest(), id.GetImageTag()
	if d == "" {
		d = "null"
	}
	if tag == "" {
		tag = "null"
	}
	return ecrerr.New(ecrerr.NotFound, ecrerr.ImageNotFoundException,
		"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
		d, tag, rec.GetRepository().GetRepositoryName(), s.cfg.ARNs.Account)
}

func checkImageIDs(ids []*berthv1.ImageIdentifier) error {
	if n := len(ids); n < 1 || n > maxImageIDs {
		return ecrerr.Param("imageIds", "give 1 to %d ids, got %d", maxImageIDs, n)
	}
	return nil
}

// BatchGetImage implements ECR's BatchGetImage: each image's manifest as
// stored (berth converts no manifest to another media type).
func (s *Server) BatchGetImage(ctx context.Context, req *berthv1.BatchGetImageRequest) (*berthv1.BatchGetImageResponse, error) {
	if err := checkImageIDs(req.GetImageIds()); err != nil {
		return nil, err
	}
	if n := len(req.GetAcceptedMediaTypes()); n > 100 {
		return nil, ecrerr.Param("acceptedMediaTypes", "at most 100 media types, got %d", n)
	}
	t, err := s.images(ctx, req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	out := &berthv1.BatchGetImageResponse{}
	for _, id := range req.GetImageIds() {
		img, code, reason := find(t.images, id)
		if code != "" {
			out.Failures = append(out.Failures, &berthv1.ImageFailure{ImageId: id, FailureCode: code, FailureReason: reason})
			continue
		}
		m, err := s.cfg.Registry.Manifest(ctx, req.GetRepositoryName(), img.Digest)
		if err != nil {
			out.Failures = append(out.Failures, &berthv1.ImageFailure{ImageId: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"})
			continue
		}
		out.Images = append(out.Images, &berthv1.Image{
			RegistryId: s.cfg.ARNs.Account, RepositoryName: req.GetRepositoryName(),
			ImageId:       &berthv1.ImageIdentifier{ImageDigest: img.Digest, ImageTag: id.GetImageTag()},
			ImageManifest: string(m.Payload), ImageManifestMediaType: m.MediaType,
		})
	}
	return out, nil
}

// BatchDeleteImage implements ECR's BatchDeleteImage: an id with a digest
// deletes the image and its tags; an id with only a tag removes the tag,
// and the image with its last tag. Blobs no image uses are collected after.
func (s *Server) BatchDeleteImage(ctx context.Context, req *berthv1.BatchDeleteImageRequest) (*berthv1.BatchDeleteImageResponse, error) {
	if err := checkImageIDs(req.GetImageIds()); err != nil {
		return nil, err
	}
	t, err := s.images(ctx, req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	out := &berthv1.BatchDeleteImageResponse{}
	deleted := false
	for _, id := range req.GetImageIds() {
		img, code, reason := find(t.images, id)
		if code != "" {
			out.Failures = append(out.Failures, &berthv1.ImageFailure{ImageId: id, FailureCode: code, FailureReason: reason})
			continue
		}
		if id.GetImageDigest() == "" && len(img.Tags) > 1 {
			err = s.cfg.Registry.Untag(ctx, name, id.GetImageTag())
		} else {
			err = s.cfg.Registry.DeleteImage(ctx, name, img.Digest)
			deleted = true
		}
		if errors.Is(err, registry.ErrImageNotFound) {
			out.Failures = append(out.Failures, &berthv1.ImageFailure{ImageId: id, FailureCode: "ImageNotFound", FailureReason: "Requested image not found"})
			continue
		}
		if err != nil {
			return nil, err
		}
		out.ImageIds = append(out.ImageIds, &berthv1.ImageIdentifier{ImageDigest: img.Digest, ImageTag: id.GetImageTag()})
		if t, err = s.images(ctx, req.GetRegistryId(), name); err != nil {
			return nil, err
		}
	}
	if deleted {
		s.cfg.Collect()
	}
	return out, nil
}

// PutImage implements ECR's PutImage: a manifest whose blobs are in the
// repository, stored and tagged (a retag of an image by its manifest).
func (s *Server) PutImage(ctx context.Context, req *berthv1.PutImageRequest) (*berthv1.PutImageResponse, error) {
	manifest := []byte(req.GetImageManifest())
	if n := len(manifest); n < 1 || n > registry.MaxManifest {
		return nil, ecrerr.Param("imageManifest", "must be 1 to %d bytes, got %d", registry.MaxManifest, n)
	}
	tag := req.GetImageTag()
	if tag != "" {
		if err := checkImageTag("imageTag", tag); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256(manifest)
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	if d := req.GetImageDigest(); d != "" {
		if err := checkImageDigest("imageDigest", d); err != nil {
			return nil, err
		}
		if d != dgst {
			return nil, ecrerr.New(ecrerr.InvalidArgument, ecrerr.ImageDigestDoesNotMatchException,
				"Invalid parameter at 'imageDigest' failed to satisfy constraint: 'the digest %s of the manifest does not match %s'", dgst, d)
		}
	}
	mediaType := req.GetImageManifestMediaType()
	if mediaType == "" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if err := json.Unmarshal(manifest, &m); err != nil || m.MediaType == "" {
			return nil, ecrerr.Param("imageManifestMediaType", "is required when the manifest names no mediaType")
		}
		mediaType = m.MediaType
	}
	t, err := s.images(ctx, req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	for _, img := range t.images {
		if img.Digest != dgst {
			continue
		}
		already := tag == ""
		for _, t := range img.Tags {
			already = already || t == tag
		}
		if already {
			return nil, ecrerr.New(ecrerr.AlreadyExists, ecrerr.ImageAlreadyExistsException,
				"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
				dgst, tag, name, s.cfg.ARNs.Account)
		}
	}
	d, err := s.cfg.Registry.PutManifest(ctx, name, tag, mediaType, manifest, registry.TagImmutable(t.rec.GetRepository(), tag))
	switch {
	case errors.Is(err, registry.ErrTagAlreadyExists):
		return nil, ecrerr.New(ecrerr.AlreadyExists, ecrerr.ImageTagAlreadyExistsException,
			"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, name)
	case errors.Is(err, registry.ErrLayersNotFound):
		return nil, ecrerr.New(ecrerr.InvalidArgument, ecrerr.LayersNotFoundException, "%s", err.Error())
	case errors.Is(err, registry.ErrManifestInvalid):
		return nil, ecrerr.Param("imageManifest", "%s", err.Error())
	case err != nil:
		return nil, err
	}
	return &berthv1.PutImageResponse{Image: &berthv1.Image{
		RegistryId: s.cfg.ARNs.Account, RepositoryName: name,
		ImageId:       &berthv1.ImageIdentifier{ImageDigest: d, ImageTag: tag},
		ImageManifest: string(manifest), ImageManifestMediaType: mediaType,
	}}, nil
}
