package ssm

import (
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// MaxLabelsPerVersion is how many labels one version may carry.
const MaxLabelsPerVersion = 10

var labelChars = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// ValidLabel applies SSM's label rules: up to 100 letters, digits, periods,
// hyphens and underscores, not starting with a digit, "aws" or "ssm".
func ValidLabel(l string) bool {
	low := strings.ToLower(l)
	return len(l) <= 100 && labelChars.MatchString(l) && !(l[0] >= '0' && l[0] <= '9') &&
		!strings.HasPrefix(low, "aws") && !strings.HasPrefix(low, "ssm")
}

// Version is the version of p numbered v (nil when p keeps none).
func Version(p *berthv1.ParameterRecord, v int32) *berthv1.ParameterVersionRecord {
	for _, pv := range p.GetVersions() {
		if pv.GetVersion() == v {
			return pv
		}
	}
	return nil
}

// Labelled is the version of p that carries label (nil: none).
func Labelled(p *berthv1.ParameterRecord, label string) *berthv1.ParameterVersionRecord {
	for _, pv := range p.GetVersions() {
		if slices.Contains(pv.GetLabels(), label) {
			return pv
		}
	}
	return nil
}

// VersionNotFound is ParameterVersionNotFound for version v of name.
func VersionNotFound(name string, v int32) *apierr.Error {
	return fail(apierr.NotFound, ParameterVersionNotFound,
		"Systems Manager could not find version %d of %s. Verify the version and try again.", v, name)
}

// ApplyLabels is p with labels on version v (0: the latest): a label another
// version carries moves to this one (a label names one version of a
// parameter at a time). Labels that break the rules are not applied and are
// returned as invalid, as SSM returns them.
func ApplyLabels(p *berthv1.ParameterRecord, v int32, labels []string) (next *berthv1.ParameterRecord, version int32, invalidLabels []string, err error) {
	if v == 0 {
		v = Latest(p).GetVersion()
	}
	next = proto.Clone(p).(*berthv1.ParameterRecord)
	target := Version(next, v)
	if target == nil {
		return nil, 0, nil, VersionNotFound(p.GetName(), v)
	}
	for _, l := range labels {
		if !ValidLabel(l) {
			invalidLabels = append(invalidLabels, l)
			continue
		}
		if slices.Contains(target.Labels, l) {
			continue
		}
		for _, pv := range next.Versions {
			pv.Labels = slices.DeleteFunc(pv.Labels, func(x string) bool { return x == l })
		}
		target.Labels = append(target.Labels, l)
	}
	if len(target.Labels) > MaxLabelsPerVersion {
		return nil, 0, nil, fail(apierr.InvalidArgument, ParameterVersionLabelLimitExceeded,
			"Labels: A parameter version can have maximum %d labels. Move one or more labels to another version and try again.", MaxLabelsPerVersion)
	}
	return next, v, invalidLabels, nil
}

// RemoveLabels is p without labels on version v; labels the version does not
// carry are returned as invalid.
func RemoveLabels(p *berthv1.ParameterRecord, v int32, labels []string) (next *berthv1.ParameterRecord, removed, invalidLabels []string, err error) {
	next = proto.Clone(p).(*berthv1.ParameterRecord)
	target := Version(next, v)
	if target == nil {
		return nil, nil, nil, VersionNotFound(p.GetName(), v)
	}
	for _, l := range labels {
		if i := slices.Index(target.Labels, l); i >= 0 {
			target.Labels = slices.Delete(target.Labels, i, i+1)
			removed = append(removed, l)
		} else {
			invalidLabels = append(invalidLabels, l)
		}
	}
	return next, removed, invalidLabels, nil
}

// Select is the version of p a selector names: the latest, a version number
// or a label.
func Select(p *berthv1.ParameterRecord, sel Selector) (*berthv1.ParameterVersionRecord, error) {
	switch {
	case sel.Version != 0:
		if pv := Version(p, sel.Version); pv != nil {
			return pv, nil
		}
		return nil, VersionNotFound(sel.Name, sel.Version)
	case sel.Label != "":
		if pv := Labelled(p, sel.Label); pv != nil {
			return pv, nil
		}
		return nil, fail(apierr.NotFound, ParameterVersionNotFound,
			"Systems Manager could not find label %s of %s. Verify the label and try again.", sel.Label, sel.Name)
	}
	return Latest(p), nil
}
