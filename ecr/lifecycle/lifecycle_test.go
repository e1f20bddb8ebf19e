package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseNamesTheRuleAndTheMember(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{}`, "rules: at least one rule"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "rules[0].selection.tagPrefixList"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countNumber":1},"action":{"type":"expire"}}]}`, "rules[0].selection.countUnit"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0},"action":{"type":"expire"}}]}`, "rules[0].selection.countNumber"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"some","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "rules[0].selection.tagStatus"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"keep"}}]}`, "rules[0].action.type"},
		{`{"rules":[{"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},` +
			`{"rulePriority":3,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "rules[0].rulePriority: a rule of tagStatus any"},
		{`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},` +
			`{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`, "rules[1].rulePriority: 1 is used"},
		{`{"rules":[],"extra":1}`, "not a lifecycle policy"},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestExpire(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var images []Image
	for i := 1; i <= 5; i++ { // v1 oldest ... v5 newest
		images = append(images, Image{Digest: fmt.Sprintf("d%d", i), Tags: []string{fmt.Sprintf("v%d", i)}, PushedAt: now.Add(time.Duration(i-10) * 24 * time.Hour)})
	}
	images = append(images, Image{Digest: "u1", PushedAt: now.Add(-30 * 24 * time.Hour)}, Image{Digest: "dev", Tags: []string{"dev-1"}, PushedAt: now.Add(-40 * 24 * time.Hour)})
	p, err := Parse(`{"rules":[
		{"rulePriority":1,"description":"keep 2 releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
		{"rulePriority":5,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},
		{"rulePriority":9,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Expire(p, images, now) {
		got = append(got, fmt.Sprintf("%s@%d", e.Digest, e.RulePriority))
	}
	// v1..v3 by rule 1 (v4, v5 kept), u1 by rule 5; rule 9 sees only dev: kept.
	if want := "d1@1 d2@1 d3@1 u1@5"; strings.Join(got, " ") != want {
		t.Errorf("Expire = %v, want %s", got, want)
	}
}
