package ecrapi

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/ecr/ecrerr"
)

// ECR's patterns (its service model's).
var (
	repositoryNameRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	registryIDRE     = regexp.MustCompile(`^[0-9]{12}$`)
	// imageTagRE is a Docker / OCI tag.
	imageTagRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	imageDigestRE  = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	exclusionRE    = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)
	tagCharacters  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	maxRepoTags    = 50
	maxExclusions  = 5
	maxImageIDs    = 100
	maxRegistryIDs = 10
)

func (s *Server) checkRegistryID(id string) error {
	if id == "" {
		return nil
	}
	if !registryIDRE.MatchString(id) {
		return ecrerr.Param("registryId", "must be 12 digits, got %q", id)
	}
	if id != s.cfg.ARNs.Account {
		return ecrerr.Param("registryId", "berth has one registry, the account's %s; got %s", s.cfg.ARNs.Account, id)
	}
	return nil
}

func checkRepositoryName(field, name string) error {
	if n := len(name); n < 2 || n > 256 {
		return ecrerr.Param(field, "must be 2 to 256 characters, got %d", n)
	}
	if !repositoryNameRE.MatchString(name) {
		return ecrerr.Param(field, "%q must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/' (ECR's pattern)", name)
	}
	return nil
}

func checkImageTag(field, tag string) error {
	if tag == "" || len(tag) > 300 || !imageTagRE.MatchString(tag) {
		return ecrerr.Param(field, "%q is not a valid image tag: up to 128 of letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return nil
}

func checkImageDigest(field, d string) error {
	if !imageDigestRE.MatchString(d) {
		return ecrerr.Param(field, "%q is not a valid image digest (algorithm:hex, e.g. sha256:...)", d)
	}
	return nil
}

func checkMutability(field, m string, filters []*berthv1.ImageTagMutabilityExclusionFilter) error {
	switch m {
	case "MUTABLE", "IMMUTABLE":
		if len(filters) > 0 {
			return ecrerr.Param("imageTagMutabilityExclusionFilters", "only with imageTagMutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION")
		}
		return nil
	case "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION":
		if n := len(filters); n < 1 || n > maxExclusions {
			return ecrerr.Param("imageTagMutabilityExclusionFilters", "%s needs 1 to %d filters, got %d", m, maxExclusions, n)
		}
		for i, f := range filters {
			p := fmt.Sprintf("imageTagMutabilityExclusionFilters[%d]", i)
			if f.GetFilterType() != "WILDCARD" {
				return ecrerr.Param(p+".filterType", "must be WILDCARD, got %q", f.GetFilterType())
			}
			if !exclusionRE.MatchString(f.GetFilter()) {
				return ecrerr.Param(p+".filter", "%q must be 1 to 128 of letters, digits, '.', '_', '-' and '*'", f.GetFilter())
			}
		}
		return nil
	}
	return ecrerr.Param(field, "must be MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, got %q", m)
}

func checkEncryption(e *berthv1.EncryptionConfiguration) error {
	if e == nil {
		return nil
	}
	switch e.GetEncryptionType() {
	case "AES256":
		if e.GetKmsKey() != "" {
			return ecrerr.Param("encryptionConfiguration.kmsKey", "only with encryptionType KMS or KMS_DSSE")
		}
	case "KMS", "KMS_DSSE":
		if len(e.GetKmsKey()) > 2048 {
			return ecrerr.Param("encryptionConfiguration.kmsKey", "at most 2048 characters")
		}
	default:
		return ecrerr.Param("encryptionConfiguration.encryptionType", "must be AES256, KMS or KMS_DSSE, got %q", e.GetEncryptionType())
	}
	return nil
}

func checkTags(tags []*berthv1.EcrTag) error {
	if len(tags) > maxRepoTags {
		return tagError(ecrerr.TooManyTagsException, "tags", "at most %d tags, got %d", maxRepoTags, len(tags))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		p := fmt.Sprintf("tags[%d]", i)
		k, v := t.GetKey(), t.GetValue()
		switch {
		case utf8.RuneCountInString(k) < 1 || utf8.RuneCountInString(k) > 128:
			return tagError(ecrerr.InvalidTagParameterException, p+".Key", "must be 1 to 128 characters")
		case utf8.RuneCountInString(v) > 256:
			return tagError(ecrerr.InvalidTagParameterException, p+".Value", "at most 256 characters")
		case !tagCharacters.MatchString(k) || !tagCharacters.MatchString(v):
			return tagError(ecrerr.InvalidTagParameterException, p, "letters, digits, spaces and _ . : / = + - @ only")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return tagError(ecrerr.InvalidTagParameterException, p+".Key", "the aws: prefix is reserved")
		case seen[k]:
			return tagError(ecrerr.InvalidTagParameterException, p+".Key", "%q is given twice", k)
		}
		seen[k] = true
	}
	return nil
}

func tagError(exception, field, format string, args ...any) *apierr.Error {
	e := ecrerr.Param(field, format, args...)
	e.Exception = exception
	return e
}
