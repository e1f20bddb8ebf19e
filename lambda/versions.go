package lambda

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// FindVersion is the stored version q ($LATEST or a number) of f, or nil.
func FindVersion(f *berthv1.LambdaFunctionRecord, q string) *berthv1.LambdaVersionRecord {
	if q == "" || q == Latest {
		return f.GetLatest()
	}
	for _, v := range f.GetVersions() {
		if v.GetConfig().GetVersion() == q {
			return v
		}
	}
	return nil
}

// Target is what a qualifier resolves to: the version that runs (an
// alias's routing chooses between two) and the alias, if one was named.
type Target struct {
	Version *berthv1.LambdaVersionRecord
	Alias   *berthv1.LambdaAliasConfiguration
}

// ResolveQualifier finds the version a qualifier names: "" and $LATEST
// are $LATEST, a number a published version, anything else an alias; roll
// in [0,1) picks an alias's additional version by its weight (1: never,
// the alias's own version, as Get operations answer).
func ResolveQualifier(n Namer, f *berthv1.LambdaFunctionRecord, q string, roll float64) (Target, error) {
	if IsVersion(q) || q == "" {
		v := FindVersion(f, q)
		if v == nil {
			return Target{}, FunctionNotFound(n.QualifiedARN(f.GetName(), q))
		}
		return Target{Version: v}, nil
	}
	a, ok := f.GetAliases()[q]
	if !ok {
		return Target{}, FunctionNotFound(n.QualifiedARN(f.GetName(), q))
	}
	version := a.GetFunctionVersion()
	for other, w := range a.GetRoutingConfig().GetAdditionalVersionWeights() {
		if roll < w {
			version = other
		}
	}
	v := FindVersion(f, version)
	if v == nil {
		return Target{}, FunctionNotFound(n.QualifiedARN(f.GetName(), version))
	}
	return Target{Version: v, Alias: a}, nil
}

// sameCode reports whether a published version holds $LATEST as it is now
// (Lambda publishes no new version then).
func sameCode(a, b *berthv1.LambdaFunctionConfiguration) bool {
	x := proto.Clone(a).(*berthv1.LambdaFunctionConfiguration)
	y := proto.Clone(b).(*berthv1.LambdaFunctionConfiguration)
	for _, c := range []*berthv1.LambdaFunctionConfiguration{x, y} {
		c.FunctionArn, c.Version, c.RevisionId, c.LastModified, c.Description = "", "", "", "", ""
		c.State, c.StateReason, c.StateReasonCode = "", "", ""
		c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "", "", ""
	}
	return proto.Equal(x, y)
}

// Publish makes version N+1 of $LATEST, or returns the last version when
// $LATEST has not changed since (published false). codeSha256 and
// revision, when given, must be $LATEST's.
func Publish(n Namer, f *berthv1.LambdaFunctionRecord, codeSha256, description, revision string) (next *berthv1.LambdaFunctionRecord, v *berthv1.LambdaVersionRecord, published bool, err error) {
	latest := f.GetLatest().GetConfig()
	if err := CheckNotUpdating(latest); err != nil {
		return nil, nil, false, err
	}
	if revision != "" && revision != latest.GetRevisionId() {
		return nil, nil, false, Precondition("GetFunction or the GetAlias")
	}
	if codeSha256 != "" && codeSha256 != latest.GetCodeSha256() {
		return nil, nil, false, InvalidParameter("CodeSha256", "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSha256, latest.GetCodeSha256())
	}
	if vs := f.GetVersions(); len(vs) > 0 && sameCode(vs[len(vs)-1].GetConfig(), latest) {
		return f, vs[len(vs)-1], false, nil
	}
	next = proto.Clone(f).(*berthv1.LambdaFunctionRecord)
	next.LastVersion++
	num := strconv.Itoa(int(next.LastVersion))
	v = proto.Clone(f.GetLatest()).(*berthv1.LambdaVersionRecord)
	c := v.Config
	c.Version = num
	c.FunctionArn = n.QualifiedARN(f.GetName(), num)
	if description != "" {
		c.Description = description
	}
	next.Versions = append(next.Versions, v)
	return next, v, true, nil
}

// DeleteVersion removes a published version; one an alias points at stays.
func DeleteVersion(n Namer, f *berthv1.LambdaFunctionRecord, q string) (*berthv1.LambdaFunctionRecord, error) {
	if !IsVersion(q) || q == Latest {
		return nil, InvalidParameter("Qualifier", "Deletion of aliases is not supported.")
	}
	next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
	for i, v := range next.GetVersions() {
		if v.GetConfig().GetVersion() != q {
			continue
		}
		for _, a := range f.GetAliases() {
			if a.GetFunctionVersion() == q || a.GetRoutingConfig().GetAdditionalVersionWeights()[q] > 0 {
				return nil, Conflict("Unable to delete version because the following aliases reference it: [%s]", a.GetName())
			}
		}
		next.Versions = append(next.Versions[:i], next.Versions[i+1:]...)
		return next, nil
	}
	return nil, FunctionNotFound(n.QualifiedARN(f.GetName(), q))
}

// CheckAlias checks an alias's version and routing against the function's
// versions: each must exist, the additional version must be published and
// not the alias's own, its weight in [0, 1].
func CheckAlias(n Namer, f *berthv1.LambdaFunctionRecord, version string, routing *berthv1.LambdaAliasRoutingConfiguration) error {
	if err := checkLength("FunctionVersion", version, 1, 1024); err != nil {
		return err
	}
	if !IsVersion(version) {
		return Invalid("FunctionVersion", version, `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`)
	}
	if FindVersion(f, version) == nil {
		return FunctionNotFound(n.QualifiedARN(f.GetName(), version))
	}
	weights := routing.GetAdditionalVersionWeights()
	if len(weights) > 1 {
		return Invalid("RoutingConfig.AdditionalVersionWeights", len(weights), "Member must have length less than or equal to 1")
	}
	for other, w := range weights {
		if w < 0 || w > 1 {
			return Invalid("RoutingConfig.AdditionalVersionWeights", w, "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]")
		}
		if version == Latest {
			return InvalidParameter("RoutingConfig", "$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if other == version {
			return InvalidParameter("RoutingConfig", "Invalid function version %s. Function version %s is already included in routing configuration.", other, other)
		}
		if other == Latest || !IsVersion(other) || FindVersion(f, other) == nil {
			return InvalidParameter("RoutingConfig", "Invalid function version %s. Function versions with the routing configuration must be published versions.", other)
		}
	}
	return nil
}

// AliasNotFound is Lambda's text for a missing alias.
func AliasNotFound(n Namer, function, alias string) *apierr.Error {
	return NotFound("Alias not found: %s", n.QualifiedARN(function, alias))
}
