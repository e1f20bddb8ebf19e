package elbv2

import (
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// CheckName checks a load balancer's or target group's name as ELB does: 1
// to 32 characters, alphanumerics and hyphens, no hyphen at either end, and
// (load balancers) not beginning with "internal-".
func CheckName(field, name string, loadBalancer bool) error {
	what := "target group"
	if loadBalancer {
		what = "load balancer"
	}
	switch {
	case name == "":
		return Invalid(field, "the %s name must not be empty", what)
	case len(name) > 32:
		return Invalid(field, "the %s name '%s' cannot be longer than '32' characters", what, name)
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return Invalid(field, "the %s name '%s' cannot begin or end with a hyphen", what, name)
	case loadBalancer && strings.HasPrefix(name, "internal-"):
		return Invalid(field, "the load balancer name '%s' cannot begin with 'internal-'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return Invalid(field, "the %s name '%s' can contain only alphanumeric characters and hyphens", what, name)
		}
	}
	return nil
}

// MaxTags is the most tags a resource has.
const MaxTags = 50

// CheckTags checks tags as ELB does: keys 1-128 characters, values up to 256,
// no "aws:" key prefix, no key twice.
func CheckTags(field string, tags []*berthv1.ELBTag) error {
	seen := map[string]bool{}
	for i, t := range tags {
		switch {
		case t.GetKey() == "" || len(t.GetKey()) > 128:
			return Invalid(field, "[%d].Key: must be 1 to 128 characters", i)
		case len(t.GetValue()) > 256:
			return Invalid(field, "[%d].Value: must be at most 256 characters", i)
		case strings.HasPrefix(strings.ToLower(t.GetKey()), "aws:"):
			return Invalid(field, "[%d].Key: the 'aws:' prefix is reserved", i)
		case seen[t.GetKey()]:
			return Conflict(DuplicateTagKeys, "Tag key '%s' is duplicated", t.GetKey())
		}
		seen[t.GetKey()] = true
	}
	return nil
}

// MergeTags is old with tags added (a key present takes the new value),
// refused past MaxTags.
func MergeTags(old, add []*berthv1.ELBTag) ([]*berthv1.ELBTag, error) {
	out := append([]*berthv1.ELBTag(nil), old...)
	for _, t := range add {
		found := false
		for i, o := range out {
			if o.GetKey() == t.GetKey() {
				out[i] = &berthv1.ELBTag{Key: t.GetKey(), Value: t.GetValue()}
				found = true
			}
		}
		if !found {
			out = append(out, &berthv1.ELBTag{Key: t.GetKey(), Value: t.GetValue()})
		}
	}
	if len(out) > MaxTags {
		return nil, Conflict(TooManyTags, "You've reached the limit on the number of tags for this resource (%d)", MaxTags)
	}
	return out, nil
}

// RemoveTags is old without the keys.
func RemoveTags(old []*berthv1.ELBTag, keys []string) []*berthv1.ELBTag {
	var out []*berthv1.ELBTag
	for _, t := range old {
		drop := false
		for _, k := range keys {
			drop = drop || t.GetKey() == k
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}
