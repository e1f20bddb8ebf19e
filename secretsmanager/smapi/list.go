package smapi

import (
	"cmp"
	"context"
	"encoding/base64"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	sm "github.com/berth/berth/secretsmanager"
)

func cloneSecret(r *berthv1.SecretRecord) *berthv1.SecretRecord {
	return proto.Clone(r).(*berthv1.SecretRecord)
}

// A page token is the offset of the page's first item, in base64.
func token(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset)))
}

func untoken(t string) (int, error) {
	if t == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	n, aerr := strconv.Atoi(string(b))
	if err != nil || aerr != nil || n < 0 {
		e := apierr.New(apierr.InvalidArgument, "", "NextToken: the token is not one Secrets Manager gave")
		e.Field, e.Exception = "NextToken", sm.InvalidNextTokenException
		return 0, e
	}
	return n, nil
}

func limit(n int32) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 1 || n > 100:
		return 0, sm.Param("MaxResults", "must be from 1 to 100 (%d given)", n)
	}
	return int(n), nil
}

// ListSecrets lists secrets (never their values): by CreatedDate, oldest
// first unless SortOrder is desc, or by SortBy; those scheduled for
// deletion only with IncludePlannedDeletion.
func (s *Server) ListSecrets(_ context.Context, req *berthv1.ListSecretsRequest) (*berthv1.ListSecretsResponse, error) {
	if err := sm.CheckFilters(req.GetFilters()); err != nil {
		return nil, err
	}
	n, err := limit(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	from, err := untoken(req.GetNextToken())
	if err != nil {
		return nil, err
	}
	var by func(a, b *berthv1.SecretRecord) int
	switch req.GetSortBy() {
	case "", "created-date":
		by = func(a, b *berthv1.SecretRecord) int { return cmp.Compare(a.GetCreatedDate(), b.GetCreatedDate()) }
	case "last-changed-date":
		by = func(a, b *berthv1.SecretRecord) int {
			return cmp.Compare(a.GetLastChangedDate(), b.GetLastChangedDate())
		}
	case "last-accessed-date":
		by = func(a, b *berthv1.SecretRecord) int {
			return cmp.Compare(a.GetLastAccessedDate(), b.GetLastAccessedDate())
		}
	case "name":
		by = func(a, b *berthv1.SecretRecord) int { return cmp.Compare(a.GetName(), b.GetName()) }
	default:
		return nil, sm.Param("SortBy", "must be created-date, last-accessed-date, last-changed-date or name")
	}
	switch req.GetSortOrder() {
	case "", "asc", "desc":
	default:
		return nil, sm.Param("SortOrder", "must be asc or desc")
	}
	at := s.at()
	var all []*berthv1.SecretRecord
	err = s.store.Secrets(func(r *berthv1.SecretRecord) bool {
		if sm.Expired(r, at) || (sm.Deleted(r) && !req.GetIncludePlannedDeletion()) || !sm.Match(r, s.arns.Region, req.GetFilters()) {
			return true
		}
		all = append(all, r)
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(a, b *berthv1.SecretRecord) int {
		c := cmp.Or(by(a, b), cmp.Compare(a.GetName(), b.GetName()))
		if req.GetSortOrder() == "desc" {
			return -c
		}
		return c
	})
	out := &berthv1.ListSecretsResponse{}
	if from > len(all) {
		from = len(all)
	}
	end := min(from+n, len(all))
	for _, r := range all[from:end] {
		out.SecretList = append(out.SecretList, &berthv1.SecretListEntry{
			Arn: s.arnOf(r), Name: r.GetName(), Description: r.GetDescription(), KmsKeyId: r.GetKmsKeyId(),
			LastChangedDate: r.GetLastChangedDate(), LastAccessedDate: r.GetLastAccessedDate(), DeletedDate: r.GetDeletedDate(),
			Tags: r.GetTags(), SecretVersionsToStages: stagesMap(r), CreatedDate: r.GetCreatedDate(), PrimaryRegion: s.arns.Region,
		})
	}
	if end < len(all) {
		out.NextToken = token(end)
	}
	return out, nil
}

// ListSecretVersionIds lists a secret's versions, newest first; versions
// without a stage only with IncludeDeprecated.
func (s *Server) ListSecretVersionIds(_ context.Context, req *berthv1.ListSecretVersionIdsRequest) (*berthv1.ListSecretVersionIdsResponse, error) {
	n, err := limit(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	from, err := untoken(req.GetNextToken())
	if err != nil {
		return nil, err
	}
	r, err := s.find(req.GetSecretId())
	if err != nil {
		return nil, err
	}
	var vs []*berthv1.SecretVersionsListEntry
	for i := len(r.GetVersions()) - 1; i >= 0; i-- {
		v := r.GetVersions()[i]
		if len(v.GetStages()) == 0 && !req.GetIncludeDeprecated() {
			continue
		}
		kms := r.GetKmsKeyId()
		if kms == "" {
			kms = "DefaultEncryptionKey"
		}
		vs = append(vs, &berthv1.SecretVersionsListEntry{VersionId: v.GetVersionId(), VersionStages: v.GetStages(),
			CreatedDate: v.GetCreatedDate(), LastAccessedDate: v.GetLastAccessedDate(), KmsKeyIds: []string{kms}})
	}
	out := &berthv1.ListSecretVersionIdsResponse{Arn: s.arnOf(r), Name: r.GetName()}
	from = min(from, len(vs))
	end := min(from+n, len(vs))
	out.Versions = vs[from:end]
	if end < len(vs) {
		out.NextToken = token(end)
	}
	return out, nil
}
