package ssm

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

const prefix = "arn:aws:ssm:us-east-1:000000000000:parameter/"

func exception(err error) string {
	if err == nil {
		return ""
	}
	return apierr.From(err).Exception
}

func TestCheckName(t *testing.T) {
	deep := strings.Repeat("/a", 15)
	for _, c := range []struct {
		name, want string
	}{
		{"db-password", ""},
		{"/prod/db/password", ""},
		{deep, ""},
		{deep + "/b", HierarchyLevelLimitExceededException},
		{"aws-thing", ValidationException},
		{"/AWS/thing", ValidationException},
		{"SSM.x", ValidationException},
		{"/ssm/x", ValidationException},
		{"a/b", ValidationException},
		{"/a//b", ValidationException},
		{"/a/b/", ValidationException},
		{"with space", ValidationException},
		{"", ValidationException},
		{strings.Repeat("x", 1011-len(prefix)), ""},
		{strings.Repeat("x", 1012-len(prefix)), ValidationException},
	} {
		if got := exception(CheckName("Name", c.name, prefix)); got != c.want {
			t.Errorf("CheckName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func put(value string, mods ...func(*berthv1.PutParameterRequest)) *berthv1.PutParameterRequest {
	r := &berthv1.PutParameterRequest{Name: "/app/x", Value: value, Type: TypeString}
	for _, m := range mods {
		m(r)
	}
	return r
}

func TestCheckPutValues(t *testing.T) {
	big := strings.Repeat("v", MaxStandardValue+1)
	for _, c := range []struct {
		what string
		req  *berthv1.PutParameterRequest
		want string
	}{
		{"plain", put("v"), ""},
		{"empty", put(""), ValidationException},
		{"4 KB + 1 standard", put(big, func(r *berthv1.PutParameterRequest) { r.Tier = TierStandard }), ValidationException},
		{"4 KB + 1 advanced", put(big, func(r *berthv1.PutParameterRequest) { r.Tier = TierAdvanced }), ""},
		{"4 KB + 1 intelligent", put(big, func(r *berthv1.PutParameterRequest) { r.Tier = TierIntelligent }), ""},
		{"8 KB + 1 advanced", put(strings.Repeat("v", MaxAdvancedValue+1), func(r *berthv1.PutParameterRequest) { r.Tier = TierAdvanced }), ValidationException},
		{"string list", put("a,b,c", func(r *berthv1.PutParameterRequest) { r.Type = TypeStringList }), ""},
		{"string list with an empty item", put("a,,c", func(r *berthv1.PutParameterRequest) { r.Type = TypeStringList }), ValidationException},
		{"string list ending in a comma", put("a,b,", func(r *berthv1.PutParameterRequest) { r.Type = TypeStringList }), ValidationException},
		{"bad type", put("v", func(r *berthv1.PutParameterRequest) { r.Type = "Blob" }), UnsupportedParameterType},
		{"pattern match", put("123", func(r *berthv1.PutParameterRequest) { r.AllowedPattern = `^\d+$` }), ""},
		{"pattern mismatch", put("12a", func(r *berthv1.PutParameterRequest) { r.AllowedPattern = `^\d+$` }), ParameterPatternMismatchException},
		{"bad pattern", put("1", func(r *berthv1.PutParameterRequest) { r.AllowedPattern = `(` }), InvalidAllowedPatternException},
		{"key id on a String", put("v", func(r *berthv1.PutParameterRequest) { r.KeyId = "alias/k" }), ValidationException},
		{"key id on a SecureString", put("v", func(r *berthv1.PutParameterRequest) { r.Type, r.KeyId = TypeSecureString, "alias/k" }), ""},
		{"tags with overwrite", put("v", func(r *berthv1.PutParameterRequest) {
			r.Overwrite, r.Tags = true, []*berthv1.SSMTag{{Key: "k", Value: "v"}}
		}), ValidationException},
		{"policies", put("v", func(r *berthv1.PutParameterRequest) { r.Policies = "[]" }), ValidationException},
		{"image data type", put("ami-0123456789abcdef0", func(r *berthv1.PutParameterRequest) { r.DataType = DataTypeImage }), ""},
		{"image data type, not an image", put("nginx", func(r *berthv1.PutParameterRequest) { r.DataType = DataTypeImage }), ValidationException},
	} {
		err := CheckPut(c.req, prefix)
		if got := exception(err); got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.what, got, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.req.GetValue()) && len(c.req.GetValue()) > 3 {
			t.Errorf("%s: the error quotes the value: %v", c.what, err)
		}
	}
}

func TestApplyPutVersions(t *testing.T) {
	p, err := ApplyPut(nil, Put{Req: put("v1"), Ciphertext: []byte("c1"), At: 1})
	if err != nil || len(p.Versions) != 1 || p.Versions[0].Version != 1 || p.Versions[0].Tier != TierStandard || p.Versions[0].DataType != DataTypeText {
		t.Fatalf("first put: %v, %v", p, err)
	}
	if _, err := ApplyPut(p, Put{Req: put("v2"), Ciphertext: []byte("c2"), At: 2}); exception(err) != ParameterAlreadyExists {
		t.Fatalf("put without overwrite: %v", err)
	}
	over := func(r *berthv1.PutParameterRequest) { r.Overwrite, r.Type = true, "" }
	p2, err := ApplyPut(p, Put{Req: put("v2", over), Ciphertext: []byte("c2"), At: 2})
	if err != nil || NextVersion(p2) != 3 || Latest(p2).Type != TypeString {
		t.Fatalf("overwrite: %v, %v", p2, err)
	}
	if len(p.Versions) != 1 {
		t.Fatal("ApplyPut changed the stored record it was given")
	}
	secure := func(r *berthv1.PutParameterRequest) { r.Overwrite, r.Type = true, TypeSecureString }
	if _, err := ApplyPut(p2, Put{Req: put("v3", secure)}); exception(err) != HierarchyTypeMismatchException {
		t.Fatalf("type change: %v", err)
	}
	if _, err := ApplyPut(nil, Put{Req: put("v", func(r *berthv1.PutParameterRequest) { r.Type = "" })}); exception(err) != ValidationException {
		t.Fatalf("a new parameter without a type: %v", err)
	}

	// Advanced stays advanced; asking it down to Standard is refused.
	adv, _ := ApplyPut(nil, Put{Req: put("v", func(r *berthv1.PutParameterRequest) { r.Tier = TierAdvanced })})
	again, err := ApplyPut(adv, Put{Req: put("w", over)})
	if err != nil || Latest(again).Tier != TierAdvanced {
		t.Fatalf("overwrite of an advanced parameter: %v, %v", again, err)
	}
	if _, err := ApplyPut(adv, Put{Req: put("w", over, func(r *berthv1.PutParameterRequest) { r.Tier = TierStandard })}); exception(err) != ValidationException {
		t.Fatalf("downgrade: %v", err)
	}
}

// The 101st version drops the oldest, unless the oldest has a label.
func TestApplyPutKeeps100Versions(t *testing.T) {
	var p *berthv1.ParameterRecord
	over := func(r *berthv1.PutParameterRequest) { r.Overwrite = true }
	for i := range MaxVersions {
		var err error
		if p, err = ApplyPut(p, Put{Req: put("v", over)}); err != nil {
			t.Fatalf("put %d: %v", i+1, err)
		}
	}
	labelled, _, _, err := ApplyLabels(p, 1, []string{"first"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyPut(labelled, Put{Req: put("v", over)}); exception(err) != ParameterMaxVersionLimitExceeded {
		t.Fatalf("101st version over a labelled oldest: %v", err)
	}
	p, err = ApplyPut(p, Put{Req: put("v", over)})
	if err != nil || len(p.Versions) != MaxVersions || p.Versions[0].Version != 2 || Latest(p).Version != 101 {
		t.Fatalf("101st version: %d versions from %d, %v", len(p.Versions), p.Versions[0].Version, err)
	}
}

func TestLabels(t *testing.T) {
	var p *berthv1.ParameterRecord
	for range 3 {
		p, _ = ApplyPut(p, Put{Req: put("v", func(r *berthv1.PutParameterRequest) { r.Overwrite = true })})
	}
	p, v, invalid, err := ApplyLabels(p, 1, []string{"prod", "1bad", "awsx", "ok.v-1_2"})
	if err != nil || v != 1 || strings.Join(invalid, ",") != "1bad,awsx" {
		t.Fatalf("label v1: %d %v %v", v, invalid, err)
	}
	// A label moves: on one version at a time.
	p, v, _, err = ApplyLabels(p, 0, []string{"prod"})
	if err != nil || v != 3 || len(Version(p, 1).Labels) != 1 || Labelled(p, "prod").Version != 3 {
		t.Fatalf("move prod to the latest: %v, %v", p, err)
	}
	if _, _, _, err := ApplyLabels(p, 9, []string{"x"}); exception(err) != ParameterVersionNotFound {
		t.Fatalf("label a missing version: %v", err)
	}
	many := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if _, _, _, err := ApplyLabels(p, 3, many); exception(err) != ParameterVersionLabelLimitExceeded {
		t.Fatalf("11 labels on a version: %v", err)
	}
	p, removed, invalid, err := RemoveLabels(p, 3, []string{"prod", "nope"})
	if err != nil || strings.Join(removed, ",") != "prod" || strings.Join(invalid, ",") != "nope" || Labelled(p, "prod") != nil {
		t.Fatalf("unlabel: %v %v %v", removed, invalid, err)
	}
}

func TestSelectors(t *testing.T) {
	for _, c := range []struct {
		in      string
		name    string
		version int32
		label   string
		bad     bool
	}{
		{"/a/b", "/a/b", 0, "", false},
		{"/a/b:3", "/a/b", 3, "", false},
		{"/a/b:prod", "/a/b", 0, "prod", false},
		{"/a/b:", "", 0, "", true},
		{"/a/b:0", "", 0, "", true},
	} {
		sel, err := ParseSelector("Name", c.in)
		if (err != nil) != c.bad || (!c.bad && (sel.Name != c.name || sel.Version != c.version || sel.Label != c.label)) {
			t.Errorf("ParseSelector(%q) = %+v, %v", c.in, sel, err)
		}
	}
	if got := NamesOfARNResource("parameter/a/b"); len(got) != 1 || got[0] != "/a/b" {
		t.Errorf("parameter/a/b: %v", got)
	}
	if got := NamesOfARNResource("parameter/a"); len(got) != 2 {
		t.Errorf("parameter/a: %v", got)
	}
}

func TestPathsAndFilters(t *testing.T) {
	if !InPath("/a/b", "/a", false) || InPath("/a/b/c", "/a", false) || !InPath("/a/b/c", "/a/", true) || InPath("/ab", "/a", true) {
		t.Error("InPath")
	}
	if exception(CheckPath("Path", "a")) != ValidationException || CheckPath("Path", "/") != nil || CheckPath("Path", "/a/") != nil {
		t.Error("CheckPath")
	}
	if exception(CheckPath("Path", strings.Repeat("/a", 15))) != HierarchyLevelLimitExceededException {
		t.Error("a path 15 deep leaves no level for its parameters")
	}
	p := &berthv1.ParameterRecord{Name: "/app/db", Tags: []*berthv1.SSMTag{{Key: "team", Value: "core"}}}
	pv := &berthv1.ParameterVersionRecord{Type: TypeSecureString, Labels: []string{"prod"}}
	fs, err := CheckFilters([]*berthv1.SSMParameterStringFilter{
		{Key: "Type", Values: []string{"SecureString"}}, {Key: "tag:team", Values: []string{"core"}}, {Key: "Label", Values: []string{"prod"}},
	}, nil, true)
	if err != nil || !Match(p, pv, fs) {
		t.Fatalf("by-path filters: %v", err)
	}
	if _, err := CheckFilters([]*berthv1.SSMParameterStringFilter{{Key: "Name", Values: []string{"x"}}}, nil, true); exception(err) != InvalidFilterKey {
		t.Errorf("Name filter by path: %v", err)
	}
	if _, err := CheckFilters([]*berthv1.SSMParameterStringFilter{{Key: "Type", Option: "BeginsWith", Values: []string{"x"}}}, nil, false); exception(err) != InvalidFilterOption {
		t.Errorf("Type BeginsWith: %v", err)
	}
	fs, _ = CheckFilters([]*berthv1.SSMParameterStringFilter{{Key: "Name", Option: "Contains", Values: []string{"db"}}, {Key: "Path", Option: "Recursive", Values: []string{"/app"}}}, nil, false)
	if !Match(p, pv, fs) {
		t.Error("Name Contains and Path Recursive")
	}
}
