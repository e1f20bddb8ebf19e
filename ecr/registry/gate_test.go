package registry

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestParseRoute(t *testing.T) {
	for _, tc := range []struct {
		path string
		want route
		ok   bool
	}{
		{"/v2/", route{}, true},
		{"/v2", route{}, true},
		{"/v2/_catalog", route{}, true},
		{"/v2/web/manifests/v1", route{name: "web", kind: "manifests", reference: "v1"}, true},
		{"/v2/team/web/manifests/sha256:ab", route{name: "team/web", kind: "manifests", reference: "sha256:ab"}, true},
		{"/v2/web/blobs/uploads/", route{name: "web", kind: "blobs", upload: true}, true},
		{"/v2/web/blobs/uploads/123", route{name: "web", kind: "blobs", upload: true}, true},
		{"/v2/web/blobs/sha256:ab", route{name: "web", kind: "blobs"}, true},
		{"/v2/web/tags/list", route{name: "web", kind: "tags"}, true},
		{"/v2/web", route{}, false},
		{"/metrics", route{}, false},
	} {
		got, ok := parseRoute(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRoute(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTagImmutable(t *testing.T) {
	filters := []*berthv1.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: "dev-*"}}
	for _, tc := range []struct {
		mutability string
		tag        string
		want       bool
	}{
		{"MUTABLE", "v1", false},
		{"", "v1", false},
		{"IMMUTABLE", "v1", true},
		{"IMMUTABLE_WITH_EXCLUSION", "v1", true},
		{"IMMUTABLE_WITH_EXCLUSION", "dev-1", false},
		{"MUTABLE_WITH_EXCLUSION", "v1", false},
		{"MUTABLE_WITH_EXCLUSION", "dev-1", true},
	} {
		repo := &berthv1.Repository{ImageTagMutability: tc.mutability, ImageTagMutabilityExclusionFilters: filters}
		if got := TagImmutable(repo, tc.tag); got != tc.want {
			t.Errorf("TagImmutable(%s, %s) = %v, want %v", tc.mutability, tc.tag, got, tc.want)
		}
	}
}
