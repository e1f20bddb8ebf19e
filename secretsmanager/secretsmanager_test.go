package secretsmanager

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func exception(err error) string {
	if err == nil {
		return ""
	}
	return apierr.From(err).Exception
}

func stages(s *berthv1.SecretRecord) string {
	var b []string
	for _, v := range s.Versions {
		b = append(b, v.VersionId+"="+strings.Join(v.Stages, "+"))
	}
	return strings.Join(b, " ")
}

func version(id string) *berthv1.SecretVersionRecord {
	return &berthv1.SecretVersionRecord{VersionId: id}
}

// Stages move as Secrets Manager moves them: a new AWSCURRENT leaves
// AWSPREVIOUS on the version it leaves, and a stage is on one version only.
func TestStagesMove(t *testing.T) {
	s := &berthv1.SecretRecord{Name: "db"}
	steps := []struct {
		id     string
		stages []string
		want   string
	}{
		{"v1", nil, "v1=AWSCURRENT"},
		{"v2", nil, "v1=AWSPREVIOUS v2=AWSCURRENT"},
		{"v3", []string{Pending}, "v1=AWSPREVIOUS v2=AWSCURRENT v3=AWSPENDING"},
		{"v4", []string{Current, "blue"}, "v1= v2=AWSPREVIOUS v3=AWSPENDING v4=AWSCURRENT+blue"},
		{"v5", []string{"blue"}, "v1= v2=AWSPREVIOUS v3=AWSPENDING v4=AWSCURRENT v5=blue"},
	}
	for _, st := range steps {
		next, err := AddVersion(s, version(st.id), st.stages)
		if err != nil {
			t.Fatal(err)
		}
		if got := stages(next); got != st.want {
			t.Fatalf("after %s: %s, want %s", st.id, got, st.want)
		}
		s = next
	}

	// AWSCURRENT is on v4: moving it to v3 without naming v4 is refused.
	if _, err := UpdateVersionStage(s, Current, "", "v3", 1); exception(err) != InvalidParameterException {
		t.Fatalf("a stage on two versions at once: %v", err)
	}
	if _, err := UpdateVersionStage(s, Current, "v2", "v3", 1); exception(err) != InvalidParameterException {
		t.Fatalf("remove from a version without the stage: %v", err)
	}
	next, err := UpdateVersionStage(s, Current, "v4", "v3", 1)
	if err != nil || stages(next) != "v1= v2= v3=AWSPENDING+AWSCURRENT v4=AWSPREVIOUS v5=blue" {
		t.Fatalf("move AWSCURRENT: %s, %v", stages(next), err)
	}
	if _, err := UpdateVersionStage(next, Current, "v3", "", 1); exception(err) != InvalidParameterException {
		t.Fatalf("remove AWSCURRENT: %v", err)
	}
	next, err = UpdateVersionStage(next, Pending, "v3", "", 1)
	if err != nil || stages(next) != "v1= v2= v3=AWSCURRENT v4=AWSPREVIOUS v5=blue" {
		t.Fatalf("remove AWSPENDING: %s, %v", stages(next), err)
	}
	if stages(s) != "v1= v2=AWSPREVIOUS v3=AWSPENDING v4=AWSCURRENT v5=blue" {
		t.Fatal("UpdateVersionStage changed the record it was given")
	}
}

func TestVersionsArePruned(t *testing.T) {
	s := &berthv1.SecretRecord{}
	for i := range MaxVersions + 5 {
		var err error
		s, err = AddVersion(s, version(strings.Repeat("x", i+1)), nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(s.Versions) != MaxVersions || Staged(s, Current) == nil || Staged(s, Previous) == nil {
		t.Fatalf("%d versions", len(s.Versions))
	}
}

func TestValuesAndNames(t *testing.T) {
	str := func(s string) *string { return &s }
	big := strings.Repeat("s", MaxValueBytes+1)
	for _, c := range []struct {
		what     string
		str      *string
		bin      []byte
		required bool
		want     string
	}{
		{"string", str("x"), nil, true, ""},
		{"binary", nil, []byte{1}, true, ""},
		{"both", str("x"), []byte{1}, false, InvalidParameterException},
		{"64 KB + 1", str(big), nil, false, InvalidParameterException},
		{"64 KB + 1 binary", nil, []byte(big), false, InvalidParameterException},
		{"none, required", nil, nil, true, InvalidRequestException},
		{"none", nil, nil, false, ""},
	} {
		err := CheckValue(c.str, c.bin, c.required)
		if exception(err) != c.want {
			t.Errorf("%s: %v, want %s", c.what, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "sss") {
			t.Errorf("%s: the error quotes the value", c.what)
		}
	}
	if CheckName("prod/db_pass+1=@.-x") != nil || exception(CheckName("no spaces")) != InvalidParameterException || exception(CheckName("")) != InvalidParameterException {
		t.Error("CheckName")
	}
	prefix := "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	for in, want := range map[string]SecretID{
		"db":                                  {Name: "db"},
		prefix + "prod/db-AbC123":             {Name: "prod/db", Suffix: "AbC123", ARN: true},
		prefix + "db":                         {Name: "db", ARN: true},
		"arn:aws:secretsmanager:eu-west-1:1:": {},
	} {
		got, err := ParseSecretID("SecretId", in, prefix)
		if got != want || (want == SecretID{}) != (err != nil) {
			t.Errorf("ParseSecretID(%q) = %+v, %v", in, got, err)
		}
	}
}

func TestDelete(t *testing.T) {
	s := &berthv1.SecretRecord{Name: "db"}
	seven, two := int32(7), int32(2)
	if _, _, err := Delete(s, &seven, true, 100); exception(err) != InvalidParameterException {
		t.Errorf("window and force: %v", err)
	}
	if _, _, err := Delete(s, &two, false, 100); exception(err) != InvalidParameterException {
		t.Errorf("2 days: %v", err)
	}
	next, purge, err := Delete(s, nil, false, 100)
	if err != nil || purge || next.DeletionDate != 100+30*86400 || !Deleted(next) || Expired(next, 100) || !Expired(next, 100+30*86400) {
		t.Fatalf("delete: %v %v %v", next, purge, err)
	}
	if _, _, err := Delete(next, nil, false, 200); exception(err) != InvalidRequestException {
		t.Errorf("delete twice: %v", err)
	}
	if _, purge, err := Delete(next, nil, true, 200); err != nil || !purge {
		t.Errorf("force after a scheduled delete: %v %v", purge, err)
	}
	if r := Restore(next, 300); Deleted(r) || r.LastChangedDate != 300 {
		t.Errorf("restore: %v", r)
	}
}

func TestReferences(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbC123"
	for in, want := range map[string]Reference{
		arn:                    {SecretID: arn},
		arn + ":password::":    {SecretID: arn, JSONKey: "password"},
		arn + "::AWSPREVIOUS:": {SecretID: arn, VersionStage: "AWSPREVIOUS"},
		arn + ":k::0123":       {SecretID: arn, JSONKey: "k", VersionID: "0123"},
	} {
		got, err := ParseReference(in)
		if err != nil || got != want {
			t.Errorf("ParseReference(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"db", "arn:aws:ssm:us-east-1:0:parameter/x", arn + ":k:AWSCURRENT:0123", arn + ":a:b:c:d"} {
		if _, err := ParseReference(bad); err == nil {
			t.Errorf("ParseReference(%q) accepted", bad)
		}
	}
	secret := `{"user":"app","password":"s3cr3t","port":5432}`
	if v, err := JSONValue(secret, "password"); err != nil || v != "s3cr3t" {
		t.Errorf("password: %q %v", v, err)
	}
	if v, err := JSONValue(secret, "port"); err != nil || v != "5432" {
		t.Errorf("port: %q %v", v, err)
	}
	for _, c := range [][2]string{{secret, "host"}, {"s3cr3t-plain", "password"}} {
		_, err := JSONValue(c[0], c[1])
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("JSONValue(%q): %v", c[1], err)
		}
	}
}

func TestFilters(t *testing.T) {
	s := &berthv1.SecretRecord{Name: "prod/db", Description: "the database", Tags: []*berthv1.SecretsManagerTag{{Key: "team", Value: "core"}}}
	f := func(k string, v ...string) []*berthv1.SecretsManagerFilter {
		return []*berthv1.SecretsManagerFilter{{Key: k, Values: v}}
	}
	for _, c := range []struct {
		filters []*berthv1.SecretsManagerFilter
		want    bool
	}{
		{f("name", "prod/"), true},
		{f("name", "dev/", "prod"), true},
		{f("name", "!prod"), false},
		{f("name", "!dev"), true},
		{f("tag-key", "team"), true},
		{f("tag-value", "edge"), false},
		{f("description", "the"), true},
		{f("all", "core"), true},
		{f("primary-region", "us-east-1"), true},
	} {
		if err := CheckFilters(c.filters); err != nil {
			t.Fatal(err)
		}
		if got := Match(s, "us-east-1", c.filters); got != c.want {
			t.Errorf("%v: %v", c.filters, got)
		}
	}
	if exception(CheckFilters(f("colour", "x"))) != InvalidParameterException {
		t.Error("unknown filter key")
	}
}
