package secretsmanager

import (
	"fmt"
	"slices"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func date(sec float64) string { return time.Unix(int64(sec), 0).UTC().Format(time.RFC3339) }

var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

// CheckFilters applies the rules on ListSecrets' filters.
func CheckFilters(filters []*berthv1.SecretsManagerFilter) error {
	if len(filters) > 10 {
		return Param("Filters", "at most 10 filters")
	}
	for i, f := range filters {
		if !slices.Contains(filterKeys, f.GetKey()) {
			return Param(fmt.Sprintf("Filters[%d].Key", i), "must be one of %s", strings.Join(filterKeys, ", "))
		}
		if n := len(f.GetValues()); n < 1 || n > 10 {
			return Param(fmt.Sprintf("Filters[%d].Values", i), "must have 1 to 10 values")
		}
		for _, v := range f.GetValues() {
			if v == "" || len(v) > 512 {
				return Param(fmt.Sprintf("Filters[%d].Values", i), "a value must be 1 to 512 characters")
			}
		}
	}
	return nil
}

// Match reports whether s passes every filter: a value matches the start of
// the field, case-sensitively; a value starting with ! excludes what it
// matches. Within a filter the values are alternatives.
func Match(s *berthv1.SecretRecord, region string, filters []*berthv1.SecretsManagerFilter) bool {
	for _, f := range filters {
		if !matchOne(s, region, f) {
			return false
		}
	}
	return true
}

func matchOne(s *berthv1.SecretRecord, region string, f *berthv1.SecretsManagerFilter) bool {
	var fields []string
	switch f.GetKey() {
	case "name":
		fields = []string{s.GetName()}
	case "description":
		fields = []string{s.GetDescription()}
	case "tag-key":
		for _, t := range s.GetTags() {
			fields = append(fields, t.GetKey())
		}
	case "tag-value":
		for _, t := range s.GetTags() {
			fields = append(fields, t.GetValue())
		}
	case "primary-region":
		fields = []string{region}
	case "owning-service":
		fields = nil
	case "all":
		fields = []string{s.GetName(), s.GetDescription(), region}
		for _, t := range s.GetTags() {
			fields = append(fields, t.GetKey(), t.GetValue())
		}
	}
	for _, v := range f.GetValues() {
		if neg, ok := strings.CutPrefix(v, "!"); ok {
			if !slices.ContainsFunc(fields, func(x string) bool { return strings.HasPrefix(x, neg) }) {
				return true
			}
			continue
		}
		if slices.ContainsFunc(fields, func(x string) bool { return strings.HasPrefix(x, v) }) {
			return true
		}
	}
	return false
}
