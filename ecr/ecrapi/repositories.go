package ecrapi

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/store"
)

// CreateRepository implements ECR's CreateRepository.
func (s *Server) CreateRepository(ctx context.Context, req *berthv1.CreateRepositoryRequest) (*berthv1.CreateRepositoryResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	if err := checkRepositoryName("repositoryName", req.GetRepositoryName()); err != nil {
		return nil, err
	}
	mutability := req.GetImageTagMutability()
	if mutability == "" {
		mutability = "MUTABLE"
	}
	if err := checkMutability("imageTagMutability", mutability, req.GetImageTagMutabilityExclusionFilters()); err != nil {
		return nil, err
	}
	if err := checkEncryption(req.GetEncryptionConfiguration()); err != nil {
		return nil, err
	}
	if err := checkTags(req.GetTags()); err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	repo := &berthv1.Repository{
		RepositoryArn:                      s.cfg.ARNs.ECRRepository(name),
		RegistryId:                         s.cfg.ARNs.Account,
		RepositoryName:                     name,
		RepositoryUri:                      s.cfg.ARNs.ECRRepositoryURI(name),
		CreatedAt:                          epoch(s.cfg.Now()),
		ImageTagMutability:                 mutability,
		ImageTagMutabilityExclusionFilters: req.GetImageTagMutabilityExclusionFilters(),
		ImageScanningConfiguration:         &berthv1.ImageScanningConfiguration{ScanOnPush: req.GetImageScanningConfiguration().GetScanOnPush()},
		EncryptionConfiguration:            req.GetEncryptionConfiguration(),
	}
	if repo.EncryptionConfiguration == nil {
		repo.EncryptionConfiguration = &berthv1.EncryptionConfiguration{EncryptionType: "AES256"}
	}
	_, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_CreateEcrRepository{
		CreateEcrRepository: &berthv1.CreateEcrRepositoryCommand{Record: &berthv1.EcrRepositoryRecord{Repository: repo, Tags: req.GetTags()}}}})
	if err != nil {
		if e := ecrerr.From(err); e.Reason == store.ReasonECRRepositoryExists {
			return nil, ecrerr.New(e.Class, ecrerr.RepositoryAlreadyExistsException,
				"The repository with name '%s' already exists in the registry with id '%s'", name, s.cfg.ARNs.Account)
		}
		return nil, err
	}
	return &berthv1.CreateRepositoryResponse{Repository: repo}, nil
}

// repository returns the stored repository of name, or ECR's
// RepositoryNotFoundException.
func (s *Server) repository(field, name string) (*berthv1.EcrRepositoryRecord, error) {
	if err := checkRepositoryName(field, name); err != nil {
		return nil, err
	}
	rec, ok, err := s.cfg.Store.ECRRepository(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.notFound(name)
	}
	return rec, nil
}

func (s *Server) notFound(name string) error {
	return ecrerr.New(ecrerr.NotFound, ecrerr.RepositoryNotFoundException,
		"The repository with name '%s' does not exist in the registry with id '%s'", name, s.cfg.ARNs.Account)
}

// DescribeRepositories implements ECR's DescribeRepositories.
func (s *Server) DescribeRepositories(ctx context.Context, req *berthv1.DescribeRepositoriesRequest) (*berthv1.DescribeRepositoriesResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	names := req.GetRepositoryNames()
	if len(names) > 0 {
		if req.GetNextToken() != "" || req.GetMaxResults() != 0 {
			return nil, ecrerr.Param("maxResults", "cannot be used with repositoryNames (nor can nextToken)")
		}
		if len(names) > 100 {
			return nil, ecrerr.Param("repositoryNames", "at most 100 names, got %d", len(names))
		}
		out := &berthv1.DescribeRepositoriesResponse{}
		for i, n := range names {
			rec, err := s.repository(fmt.Sprintf("repositoryNames[%d]", i), n)
			if err != nil {
				return nil, err
			}
			out.Repositories = append(out.Repositories, rec.GetRepository())
		}
		return out, nil
	}
	limit, after, err := page(req.GetMaxResults(), req.GetNextToken(), 1000)
	if err != nil {
		return nil, err
	}
	all, err := s.cfg.Store.ECRRepositories()
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeRepositoriesResponse{}
	for _, rec := range all {
		name := rec.GetRepository().GetRepositoryName()
		if name <= after {
			continue
		}
		if len(out.Repositories) == limit {
			out.NextToken = nextToken(out.Repositories[limit-1].GetRepositoryName())
			break
		}
		out.Repositories = append(out.Repositories, rec.GetRepository())
	}
	return out, nil
}

// DeleteRepository implements ECR's DeleteRepository: a repository with
// images is removed only with force, and its images with it.
func (s *Server) DeleteRepository(ctx context.Context, req *berthv1.DeleteRepositoryRequest) (*berthv1.DeleteRepositoryResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	images, err := s.cfg.Registry.Images(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(images) > 0 && !req.GetForce() {
		return nil, ecrerr.New(ecrerr.FailedPrecondition, ecrerr.RepositoryNotEmptyException,
			"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, s.cfg.ARNs.Account)
	}
	if _, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteEcrRepository{
		DeleteEcrRepository: &berthv1.DeleteEcrRepositoryCommand{RepositoryName: name}}}); err != nil {
		return nil, err
	}
	if err := s.cfg.Registry.DeleteRepository(ctx, name); err != nil {
		return nil, err
	}
	s.cfg.Collect()
	return &berthv1.DeleteRepositoryResponse{Repository: rec.GetRepository()}, nil
}

// update changes a stored repository with fn.
func (s *Server) update(ctx context.Context, registryID, name string, fn func(*berthv1.Repository)) (*berthv1.Repository, error) {
	if err := s.checkRegistryID(registryID); err != nil {
		return nil, err
	}
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	rec = proto.Clone(rec).(*berthv1.EcrRepositoryRecord)
	fn(rec.Repository)
	_, err = s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateEcrRepository{
		UpdateEcrRepository: &berthv1.UpdateEcrRepositoryCommand{Record: rec}}})
	if err != nil {
		if ecrerr.From(err).Reason == store.ReasonECRRepositoryNotFound {
			return nil, s.notFound(name)
		}
		return nil, err
	}
	return rec.Repository, nil
}

// PutImageTagMutability implements ECR's PutImageTagMutability.
func (s *Server) PutImageTagMutability(ctx context.Context, req *berthv1.PutImageTagMutabilityRequest) (*berthv1.PutImageTagMutabilityResponse, error) {
	if err := checkMutability("imageTagMutability", req.GetImageTagMutability(), req.GetImageTagMutabilityExclusionFilters()); err != nil {
		return nil, err
	}
	repo, err := s.update(ctx, req.GetRegistryId(), req.GetRepositoryName(), func(r *berthv1.Repository) {
		r.ImageTagMutability = req.GetImageTagMutability()
		r.ImageTagMutabilityExclusionFilters = req.GetImageTagMutabilityExclusionFilters()
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.PutImageTagMutabilityResponse{
		RegistryId: repo.GetRegistryId(), RepositoryName: repo.GetRepositoryName(),
		ImageTagMutability: repo.GetImageTagMutability(), ImageTagMutabilityExclusionFilters: repo.GetImageTagMutabilityExclusionFilters(),
	}, nil
}

// PutImageScanningConfiguration implements ECR's
// PutImageScanningConfiguration: stored and shown (berth scans nothing).
func (s *Server) PutImageScanningConfiguration(ctx context.Context, req *berthv1.PutImageScanningConfigurationRequest) (*berthv1.PutImageScanningConfigurationResponse, error) {
	if req.GetImageScanningConfiguration() == nil {
		return nil, ecrerr.Param("imageScanningConfiguration", "is required")
	}
	repo, err := s.update(ctx, req.GetRegistryId(), req.GetRepositoryName(), func(r *berthv1.Repository) {
		r.ImageScanningConfiguration = &berthv1.ImageScanningConfiguration{ScanOnPush: req.GetImageScanningConfiguration().GetScanOnPush()}
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.PutImageScanningConfigurationResponse{
		RegistryId: repo.GetRegistryId(), RepositoryName: repo.GetRepositoryName(),
		ImageScanningConfiguration: repo.GetImageScanningConfiguration(),
	}, nil
}
