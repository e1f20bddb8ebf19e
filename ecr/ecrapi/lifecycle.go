package ecrapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/ecr/lifecycle"
	"github.com/berth/berth/ecr/registry"
	"github.com/berth/berth/store"
)

// LifecyclePeriod is how often every repository's lifecycle policy is
// applied (ECR: within 24 hours; berth also applies a policy as it is put).
const LifecyclePeriod = time.Hour

// updateRecord changes a stored repository's record with fn.
func (s *Server) updateRecord(ctx context.Context, name string, fn func(*berthv1.EcrRepositoryRecord)) (*berthv1.EcrRepositoryRecord, error) {
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	rec = proto.Clone(rec).(*berthv1.EcrRepositoryRecord)
	fn(rec)
	_, err = s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateEcrRepository{
		UpdateEcrRepository: &berthv1.UpdateEcrRepositoryCommand{Record: rec}}})
	if err != nil {
		if ecrerr.From(err).Reason == store.ReasonECRRepositoryNotFound {
			return nil, s.notFound(name)
		}
		return nil, err
	}
	return rec, nil
}

// PutLifecyclePolicy implements ECR's PutLifecyclePolicy: the policy is
// checked (an error names the rule and the member), stored, and applied at
// once.
func (s *Server) PutLifecyclePolicy(ctx context.Context, req *berthv1.PutLifecyclePolicyRequest) (*berthv1.PutLifecyclePolicyResponse, error) {
	if err := s.checkRegistryID(req.GetRegistryId()); err != nil {
		return nil, err
	}
	text := req.GetLifecyclePolicyText()
	if _, err := parsePolicy(text); err != nil {
		return nil, err
	}
	name := req.GetRepositoryName()
	if _, err := s.updateRecord(ctx, name, func(r *berthv1.EcrRepositoryRecord) { r.LifecyclePolicyText = text }); err != nil {
		return nil, err
	}
	if _, err := s.applyLifecycle(ctx, name); err != nil {
		return nil, err
	}
	return &berthv1.PutLifecyclePolicyResponse{RegistryId: s.cfg.ARNs.Account, RepositoryName: name, LifecyclePolicyText: text}, nil
}

// parsePolicy checks a lifecycle policy's text as PutLifecyclePolicy and
// StartLifecyclePolicyPreview take it.
func parsePolicy(text string) (lifecycle.Policy, error) {
	if n := len(text); n < 100 || n > 30720 {
		return lifecycle.Policy{}, ecrerr.Param("lifecyclePolicyText", "must be 100 to 30720 characters, got %d", n)
	}
	p, err := lifecycle.Parse(text)
	if err != nil {
		e := ecrerr.New(ecrerr.InvalidArgument, ecrerr.InvalidParameterException, "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '%s'", err.Error())
		e.Field = "lifecyclePolicyText"
		return lifecycle.Policy{}, e
	}
	return p, nil
}

func (s *Server) policyOf(registryID, name string) (*berthv1.EcrRepositoryRecord, error) {
	if err := s.checkRegistryID(registryID); err != nil {
		return nil, err
	}
	rec, err := s.repository("repositoryName", name)
	if err != nil {
		return nil, err
	}
	if rec.GetLifecyclePolicyText() == "" {
		return nil, ecrerr.New(ecrerr.NotFound, ecrerr.LifecyclePolicyNotFoundException,
			"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, s.cfg.ARNs.Account)
	}
	return rec, nil
}

// GetLifecyclePolicy implements ECR's GetLifecyclePolicy.
func (s *Server) GetLifecyclePolicy(ctx context.Context, req *berthv1.GetLifecyclePolicyRequest) (*berthv1.GetLifecyclePolicyResponse, error) {
	rec, err := s.policyOf(req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	return &berthv1.GetLifecyclePolicyResponse{RegistryId: s.cfg.ARNs.Account, RepositoryName: req.GetRepositoryName(),
		LifecyclePolicyText: rec.GetLifecyclePolicyText(), LastEvaluatedAt: rec.GetLifecycleEvaluatedAt()}, nil
}

// DeleteLifecyclePolicy implements ECR's DeleteLifecyclePolicy.
func (s *Server) DeleteLifecyclePolicy(ctx context.Context, req *berthv1.DeleteLifecyclePolicyRequest) (*berthv1.DeleteLifecyclePolicyResponse, error) {
	rec, err := s.policyOf(req.GetRegistryId(), req.GetRepositoryName())
	if err != nil {
		return nil, err
	}
	if _, err := s.updateRecord(ctx, req.GetRepositoryName(), func(r *berthv1.EcrRepositoryRecord) {
		r.LifecyclePolicyText, r.LifecycleEvaluatedAt = "", 0
	}); err != nil {
		return nil, err
	}
	return &berthv1.DeleteLifecyclePolicyResponse{RegistryId: s.cfg.ARNs.Account, RepositoryName: req.GetRepositoryName(),
		LifecyclePolicyText: rec.GetLifecyclePolicyText(), LastEvaluatedAt: rec.GetLifecycleEvaluatedAt()}, nil
}

// applyLifecycle deletes the images repository name's policy expires now
// and returns how many.
func (s *Server) applyLifecycle(ctx context.Context, name string) (int, error) {
	rec, ok, err := s.cfg.Store.ECRRepository(name)
	if err != nil || !ok || rec.GetLifecyclePolicyText() == "" {
		return 0, err
	}
	policy, err := lifecycle.Parse(rec.GetLifecyclePolicyText())
	if err != nil {
		return 0, err
	}
	now := s.cfg.Now()
	expired, _, err := s.expiring(ctx, name, policy, now)
	if err != nil {
		return 0, err
	}
	for _, e := range expired {
		if err := s.cfg.Registry.DeleteImage(ctx, name, e.Digest); err != nil {
			return 0, err
		}
		s.cfg.Logger.Info("lifecycle policy expired an image", "repository", name, "digest", e.Digest, "tags", e.Tags, "rulePriority", e.RulePriority)
	}
	if len(expired) > 0 {
		s.cfg.Collect()
	}
	_, err = s.updateRecord(ctx, name, func(r *berthv1.EcrRepositoryRecord) { r.LifecycleEvaluatedAt = epoch(now) })
	return len(expired), err
}

// expiring returns the images of repository name that policy expires at
// now, and the repository's images.
func (s *Server) expiring(ctx context.Context, name string, policy lifecycle.Policy, now time.Time) ([]lifecycle.Expired, []registry.Image, error) {
	imgs, err := s.cfg.Registry.Images(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	in := make([]lifecycle.Image, len(imgs))
	for i, img := range imgs {
		in[i] = lifecycle.Image{Digest: img.Digest, Tags: img.Tags, PushedAt: img.PushedAt}
	}
	return lifecycle.Expire(policy, in, now), imgs, nil
}

// RunLifecycle applies every repository's lifecycle policy each
// LifecyclePeriod until ctx ends.
func (s *Server) RunLifecycle(ctx context.Context) error {
	tick := time.NewTicker(LifecyclePeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		recs, err := s.cfg.Store.ECRRepositories()
		if err != nil {
			s.cfg.Logger.Warn("lifecycle policies", "err", err)
			continue
		}
		for _, rec := range recs {
			if _, err := s.applyLifecycle(ctx, rec.GetRepository().GetRepositoryName()); err != nil {
				s.cfg.Logger.Warn("lifecycle policy", "repository", rec.GetRepository().GetRepositoryName(), "err", err)
			}
		}
	}
}
