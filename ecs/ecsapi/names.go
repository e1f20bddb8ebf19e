package ecsapi

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// validName reports whether s is 1-255 letters, digits, hyphens and
// underscores: the rule for ECS cluster names and task definition families.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// parseClusterName reads a cluster name or ARN without looking it up.
func (s *Server) parseClusterName(field, value string) (string, error) {
	if value == "" {
		return DefaultCluster, nil
	}
	name, err := arn.ClusterName(value)
	if err != nil {
		return "", ecserr.Param(field, "%v", err)
	}
	if !validName(name) {
		return "", ecserr.Param(field, "%q is not a cluster name: up to 255 letters, digits, hyphens and underscores", name)
	}
	return name, nil
}

// validateTags checks ECS's tag rules: at most 50, keys 1-128 and values up
// to 256 characters of letters, spaces, digits and _ . : / = + - @, keys
// unique, and neither keys nor values beginning with aws: in any case.
func validateTags(field string, tags []*berthv1.Tag) error {
	if len(tags) > store.MaxTags {
		return ecserr.Param(field, "at most %d tags, got %d", store.MaxTags, len(tags))
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		path := fmt.Sprintf("%s[%d]", field, i)
		if err := validateTagKey(path+".key", t.GetKey()); err != nil {
			return err
		}
		if err := validateTagText(path+".value", t.GetValue(), 0, 256); err != nil {
			return err
		}
		if seen[t.GetKey()] {
			return ecserr.Param(path+".key", "duplicate tag key %q", t.GetKey())
		}
		seen[t.GetKey()] = true
	}
	return nil
}

// validateTagKey checks a tag key: 1-128 characters, ECS's character set, no
// aws: prefix.
func validateTagKey(path, key string) error { return validateTagText(path, key, 1, 128) }

func validateTagText(path, v string, min, max int) error {
	if n := utf8.RuneCountInString(v); n < min || n > max {
		return ecserr.Param(path, "must be %d-%d characters, got %d", min, max, n)
	}
	for _, r := range v {
		if !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Zl, r) ||
			unicode.Is(unicode.Zp, r) || strings.ContainsRune("_.:/=+-@", r)) {
			return ecserr.Param(path, "%q: only letters, numbers, spaces and _ . : / = + - @ are allowed", v)
		}
	}
	if len(v) >= 4 && strings.EqualFold(v[:4], "aws:") {
		return ecserr.Param(path, "%q: the aws: prefix (in any case) is reserved for AWS use", v)
	}
	return nil
}

// clusterName reads the request's cluster (name or ARN; "" is the default
// cluster) and checks it exists and is ACTIVE.
func (s *Server) clusterName(field, value string) (string, error) {
	name, err := s.parseClusterName(field, value)
	if err != nil {
		return "", err
	}
	cl, err := s.store.Cluster(name)
	if err != nil {
		return "", err
	}
	if cl.Status != store.StatusActive {
		return "", apierr.New(apierr.NotFound, store.ReasonClusterNotFound, "cluster %q is %s", name, cl.Status).Says(store.TextClusterNotFound)
	}
	return name, nil
}

// objectID reads an id or ARN of a cluster's container instance or task.
func objectID(field, typ, cluster, value string) (string, error) {
	if value == "" {
		return "", ecserr.Param(field, "is required")
	}
	id, err := arn.ID(typ, cluster, value)
	if err != nil {
		return "", ecserr.Param(field, "%v", err)
	}
	return id, nil
}

// objectIDs reads a list of ids or ARNs, between 1 and max of them.
func objectIDs(field, typ, cluster string, values []string, max int) ([]string, error) {
	if len(values) == 0 || len(values) > max {
		return nil, ecserr.Param(field, "give between 1 and %d, got %d", max, len(values))
	}
	ids := make([]string, len(values))
	for i, v := range values {
		id, err := objectID(fmt.Sprintf("%s[%d]", field, i), typ, cluster, v)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}
