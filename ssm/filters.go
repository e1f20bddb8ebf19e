package ssm

import (
	"slices"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Filter is a checked ParameterStringFilter (or an old ParametersFilter).
type Filter struct {
	Key    string // Name, Type, KeyId, Path, Tier, DataType, Label, tag:KEY
	Option string // Equals, BeginsWith, Contains, Recursive, OneLevel
	Values []string
}

// filterOptions are the options each key takes (the first is the default),
// for DescribeParameters; byPath is what GetParametersByPath takes.
var filterOptions = map[string][]string{
	"Name":     {"Equals", "BeginsWith", "Contains"},
	"Type":     {"Equals"},
	"KeyId":    {"Equals"},
	"Path":     {"OneLevel", "Recursive"},
	"Tier":     {"Equals"},
	"DataType": {"Equals"},
	"Label":    {"Equals"},
	"tag":      {"Equals"},
}

var byPathKeys = []string{"Type", "KeyId", "Label", "DataType", "tag"}

// CheckFilters applies SSM's rules to ParameterFilters (byPath: of
// GetParametersByPath, which takes fewer keys) and the old Filters.
func CheckFilters(filters []*berthv1.SSMParameterStringFilter, old []*berthv1.SSMParametersFilter, byPath bool) ([]Filter, error) {
	var out []Filter
	seen := map[string]bool{}
	for i, f := range filters {
		key := f.GetKey()
		kind := key
		if strings.HasPrefix(key, "tag:") && len(key) > 4 {
			kind = "tag"
		}
		opts, ok := filterOptions[kind]
		if !ok || (byPath && !slices.Contains(byPathKeys, kind)) || (!byPath && kind == "Label") {
			return nil, fail(apierr.InvalidArgument, InvalidFilterKey, "ParameterFilters[%d].Key: %q is not a filter key of this operation", i, key)
		}
		if seen[key] {
			return nil, fail(apierr.InvalidArgument, InvalidFilterKey, "ParameterFilters[%d].Key: %s is given twice", i, key)
		}
		seen[key] = true
		opt := f.GetOption()
		if opt == "" {
			opt = opts[0]
		}
		if !slices.Contains(opts, opt) {
			return nil, fail(apierr.InvalidArgument, InvalidFilterOption,
				"ParameterFilters[%d].Option: the filter option %s is not valid for key %s (valid: %s)", i, opt, key, strings.Join(opts, ", "))
		}
		if len(f.GetValues()) == 0 && kind != "tag" {
			return nil, fail(apierr.InvalidArgument, InvalidFilterValue, "ParameterFilters[%d].Values: the filter needs at least one value", i)
		}
		if len(f.GetValues()) > 50 {
			return nil, fail(apierr.InvalidArgument, InvalidFilterValue, "ParameterFilters[%d].Values: at most 50 values", i)
		}
		for _, v := range f.GetValues() {
			if v == "" || len(v) > 1024 {
				return nil, fail(apierr.InvalidArgument, InvalidFilterValue, "ParameterFilters[%d].Values: a value must be 1 to 1024 characters", i)
			}
		}
		out = append(out, Filter{Key: key, Option: opt, Values: f.GetValues()})
	}
	for i, f := range old {
		switch f.GetKey() {
		case "Name":
			out = append(out, Filter{Key: "Name", Option: "BeginsWith", Values: f.GetValues()})
		case "Type", "KeyId":
			out = append(out, Filter{Key: f.GetKey(), Option: "Equals", Values: f.GetValues()})
		default:
			return nil, fail(apierr.InvalidArgument, InvalidFilterKey, "Filters[%d].Key: must be Name, Type or KeyId", i)
		}
		if len(f.GetValues()) == 0 {
			return nil, fail(apierr.InvalidArgument, InvalidFilterValue, "Filters[%d].Values: the filter needs at least one value", i)
		}
	}
	return out, nil
}

// Match reports whether version pv of p passes every filter.
func Match(p *berthv1.ParameterRecord, pv *berthv1.ParameterVersionRecord, filters []Filter) bool {
	for _, f := range filters {
		if !matchOne(p, pv, f) {
			return false
		}
	}
	return true
}

func matchOne(p *berthv1.ParameterRecord, pv *berthv1.ParameterVersionRecord, f Filter) bool {
	if tag, ok := strings.CutPrefix(f.Key, "tag:"); ok {
		for _, t := range p.GetTags() {
			if t.GetKey() == tag && (len(f.Values) == 0 || slices.Contains(f.Values, t.GetValue())) {
				return true
			}
		}
		return false
	}
	var have []string
	switch f.Key {
	case "Name":
		have = []string{p.GetName()}
	case "Type":
		have = []string{pv.GetType()}
	case "KeyId":
		have = []string{pv.GetKeyId()}
	case "Tier":
		have = []string{pv.GetTier()}
	case "DataType":
		have = []string{pv.GetDataType()}
	case "Label":
		have = pv.GetLabels()
	case "Path":
		return slices.ContainsFunc(f.Values, func(path string) bool { return InPath(p.GetName(), path, f.Option == "Recursive") })
	}
	for _, h := range have {
		for _, v := range f.Values {
			switch f.Option {
			case "BeginsWith":
				if strings.HasPrefix(h, v) {
					return true
				}
			case "Contains":
				if strings.Contains(h, v) {
					return true
				}
			default:
				if h == v {
					return true
				}
			}
		}
	}
	return false
}
