package registry

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Errors of the image operations, for the ECR API to name.
var (
	ErrImageNotFound    = errors.New("image not found")
	ErrManifestInvalid  = errors.New("manifest invalid")
	ErrLayersNotFound   = errors.New("layers not found")
	ErrTagAlreadyExists = errors.New("tag already exists")
)

// Image is one manifest stored in a repository.
type Image struct {
	Digest string
	// Tags point at the image, in name order.
	Tags []string
	// Size is the bytes of the manifest's layers and config, as ECR's
	// imageSizeInBytes counts them (compressed).
	Size int64
	// PushedAt is when the manifest was stored.
	PushedAt time.Time
	// MediaType is the manifest's; ArtifactMediaType its config's.
	MediaType, ArtifactMediaType string
}

// Manifest is an image's manifest as stored.
type Manifest struct {
	Digest    string
	MediaType string
	Payload   []byte
}

func (r *Registry) repo(ctx context.Context, name string) (distribution.Repository, error) {
	named, err := reference.WithName(name)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", name, err)
	}
	return r.ns.Repository(ctx, named)
}

// Images returns the images of repository name, oldest first.
func (r *Registry) Images(ctx context.Context, name string) ([]Image, error) {
	repo, err := r.repo(ctx, name)
	if err != nil {
		return nil, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	byDigest := map[string][]string{}
	tags, err := repo.Tags(ctx).All(ctx)
	if err != nil && !isRepoUnknown(err) {
		return nil, err
	}
	for _, t := range tags {
		d, err := repo.Tags(ctx).Get(ctx, t)
		if err != nil {
			continue // removed meanwhile
		}
		byDigest[d.Digest.String()] = append(byDigest[d.Digest.String()], t)
	}
	var out []Image
	err = ms.(distribution.ManifestEnumerator).Enumerate(ctx, func(d digest.Digest) error {
		img, err := r.describe(ctx, name, ms, d)
		if err != nil {
			return nil // a manifest removed meanwhile, or unreadable: not listed
		}
		img.Tags = byDigest[d.String()]
		sort.Strings(img.Tags)
		out = append(out, img)
		return nil
	})
	if err != nil && !isPathNotFound(err) {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PushedAt.Before(out[j].PushedAt) })
	return out, nil
}

func (r *Registry) describe(ctx context.Context, name string, ms distribution.ManifestService, d digest.Digest) (Image, error) {
	m, err := ms.Get(ctx, d)
	if err != nil {
		return Image{}, err
	}
	mt, _, err := m.Payload()
	if err != nil {
		return Image{}, err
	}
	img := Image{Digest: d.String(), MediaType: mt}
	for _, ref := range m.References() {
		img.Size += ref.Size
		if ref.MediaType == v1.MediaTypeImageConfig || ref.MediaType == "application/vnd.docker.container.image.v1+json" {
			img.ArtifactMediaType = ref.MediaType
		}
	}
	fi, err := r.driver.Stat(ctx, revisionLink(name, d))
	if err != nil {
		return Image{}, err
	}
	img.PushedAt = fi.ModTime()
	return img, nil
}

// revisionLink is where distribution's filesystem layout keeps the link of a
// repository's manifest revision: its time is the push's.
func revisionLink(name string, d digest.Digest) string {
	return path.Join("/docker/registry/v2/repositories", name, "_manifests/revisions", d.Algorithm().String(), d.Encoded(), "link")
}

// Resolve returns the digest of a tag ("" if it has none).
func (r *Registry) Resolve(ctx context.Context, name, tag string) (string, error) {
	return r.tagDigest(ctx, name, tag)
}

func (r *Registry) tagDigest(ctx context.Context, name, tag string) (string, error) {
	repo, err := r.repo(ctx, name)
	if err != nil {
		return "", err
	}
	d, err := repo.Tags(ctx).Get(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("tag %q: %w", tag, ErrImageNotFound)
	}
	return d.Digest.String(), nil
}

// Manifest returns the manifest of a digest.
func (r *Registry) Manifest(ctx context.Context, name, dgst string) (Manifest, error) {
	d, err := digest.Parse(dgst)
	if err != nil {
		return Manifest{}, fmt.Errorf("digest %q: %w", dgst, ErrImageNotFound)
	}
	repo, err := r.repo(ctx, name)
	if err != nil {
		return Manifest{}, err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return Manifest{}, err
	}
	m, err := ms.Get(ctx, d)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest %s: %w", dgst, ErrImageNotFound)
	}
	mt, payload, err := m.Payload()
	if err != nil {
		return Manifest{}, err
	}
	return Manifest{Digest: dgst, MediaType: mt, Payload: payload}, nil
}

// PutManifest stores a manifest (every blob it names must be in the
// registry) and points tag at it, unless tag is "". An immutable repository
// refuses to move an existing tag. A stored manifest is announced (OnPush)
// as a push through the registry's API is.
func (r *Registry) PutManifest(ctx context.Context, name, tag, mediaType string, payload []byte, immutable bool) (string, error) {
	d, err := r.storeManifest(ctx, name, tag, mediaType, payload, immutable)
	if err == nil && r.cfg.OnPush != nil {
		r.cfg.OnPush(context.WithoutCancel(ctx), name, tag, d)
	}
	return d, err
}

func (r *Registry) storeManifest(ctx context.Context, name, tag, mediaType string, payload []byte, immutable bool) (string, error) {
	r.writes.RLock()
	defer r.writes.RUnlock()
	m, desc, err := distribution.UnmarshalManifest(mediaType, payload)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrManifestInvalid, err)
	}
	if tag != "" && immutable {
		if cur, err := r.tagDigest(ctx, name, tag); err == nil && cur != desc.Digest.String() {
			return "", fmt.Errorf("tag %q: %w", tag, ErrTagAlreadyExists)
		}
	}
	repo, err := r.repo(ctx, name)
	if err != nil {
		return "", err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return "", err
	}
	d, err := ms.Put(ctx, m)
	if err != nil {
		var verr distribution.ErrManifestVerification
		if errors.As(err, &verr) {
			return "", fmt.Errorf("%w: %v", ErrLayersNotFound, err)
		}
		return "", fmt.Errorf("%w: %v", ErrManifestInvalid, err)
	}
	if tag != "" {
		if err := repo.Tags(ctx).Tag(ctx, tag, v1.Descriptor{Digest: d, MediaType: desc.MediaType, Size: desc.Size}); err != nil {
			return "", err
		}
	}
	return d.String(), nil
}

// Untag removes a tag; the image stays.
func (r *Registry) Untag(ctx context.Context, name, tag string) error {
	r.writes.RLock()
	defer r.writes.RUnlock()
	repo, err := r.repo(ctx, name)
	if err != nil {
		return err
	}
	if _, err := repo.Tags(ctx).Get(ctx, tag); err != nil {
		return fmt.Errorf("tag %q: %w", tag, ErrImageNotFound)
	}
	return repo.Tags(ctx).Untag(ctx, tag)
}

// DeleteImage removes the manifest of a digest and every tag that points at
// it. Its blobs stay until the garbage collector removes those no image
// references.
func (r *Registry) DeleteImage(ctx context.Context, name, dgst string) error {
	r.writes.RLock()
	defer r.writes.RUnlock()
	d, err := digest.Parse(dgst)
	if err != nil {
		return fmt.Errorf("digest %q: %w", dgst, ErrImageNotFound)
	}
	repo, err := r.repo(ctx, name)
	if err != nil {
		return err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return err
	}
	if ok, err := ms.Exists(ctx, d); err != nil || !ok {
		return fmt.Errorf("manifest %s: %w", dgst, ErrImageNotFound)
	}
	tags, err := repo.Tags(ctx).Lookup(ctx, v1.Descriptor{Digest: d})
	if err != nil && !isRepoUnknown(err) {
		return err
	}
	for _, t := range tags {
		if err := repo.Tags(ctx).Untag(ctx, t); err != nil {
			return err
		}
	}
	return ms.Delete(ctx, d)
}

// DeleteRepository removes every image of a repository.
func (r *Registry) DeleteRepository(ctx context.Context, name string) error {
	r.writes.RLock()
	defer r.writes.RUnlock()
	err := r.driver.Delete(ctx, path.Join("/docker/registry/v2/repositories", name))
	if isPathNotFound(err) {
		return nil
	}
	return err
}

func isPathNotFound(err error) bool {
	var nf driver.PathNotFoundError
	return errors.As(err, &nf)
}

func isRepoUnknown(err error) bool {
	var ru distribution.ErrRepositoryUnknown
	return errors.As(err, &ru) || isPathNotFound(err)
}

// TagImmutable reports whether a repository refuses to move tag: IMMUTABLE,
// or IMMUTABLE_WITH_EXCLUSION for a tag no filter matches, or
// MUTABLE_WITH_EXCLUSION for a tag a filter matches.
func TagImmutable(repo *berthv1.Repository, tag string) bool {
	matched := false
	for _, f := range repo.GetImageTagMutabilityExclusionFilters() {
		if ok, _ := path.Match(f.GetFilter(), tag); ok {
			matched = true
		}
	}
	switch repo.GetImageTagMutability() {
	case "IMMUTABLE":
		return true
	case "IMMUTABLE_WITH_EXCLUSION":
		return !matched
	case "MUTABLE_WITH_EXCLUSION":
		return matched
	}
	return false
}
