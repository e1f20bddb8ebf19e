// Package lifecycle reads ECR lifecycle policies and decides which images
// they expire. It is pure: a policy's text and a repository's images in,
// the images to expire out; ecrapi stores policies and deletes what Expire
// names.
//
// The rule language is ECR's: each rule has a unique positive rulePriority
// and a selection (tagStatus tagged, untagged or any; for tagged, a
// tagPrefixList or a tagPatternList with * wildcards; countType
// imageCountMoreThan with countNumber, or sinceImagePushed with countUnit
// days and countNumber) and the action expire. Rules are applied in
// rulePriority order; an image a rule selects is not considered by a later
// rule, whether or not the rule expires it. A rule of tagStatus any must
// have the highest rulePriority.
package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Policy is a parsed lifecycle policy, its rules in rulePriority order.
type Policy struct {
	Rules []Rule `json:"rules"`
}

// Rule is one rule of a policy.
type Rule struct {
	RulePriority int       `json:"rulePriority"`
	Description  string    `json:"description,omitempty"`
	Selection    Selection `json:"selection"`
	Action       Action    `json:"action"`
}

// Selection is the images a rule considers.
type Selection struct {
	TagStatus      string   `json:"tagStatus"`
	TagPrefixList  []string `json:"tagPrefixList,omitempty"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit,omitempty"`
	CountNumber    int      `json:"countNumber"`
}

// Action is what a rule does to the images it expires.
type Action struct {
	Type string `json:"type"`
}

// Parse reads and checks a policy's text. Its errors name the rule and the
// member: "rules[1].selection.countNumber: must be at least 1".
func Parse(text string) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("lifecyclePolicyText: not a lifecycle policy: %v", err)
	}
	if len(p.Rules) == 0 {
		return Policy{}, fmt.Errorf("lifecyclePolicyText: rules: at least one rule is required")
	}
	seen := map[int]bool{}
	maxPriority := 0
	for i, r := range p.Rules {
		if err := r.check(); err != nil {
			return Policy{}, fmt.Errorf("rules[%d].%v", i, err)
		}
		if seen[r.RulePriority] {
			return Policy{}, fmt.Errorf("rules[%d].rulePriority: %d is used by another rule", i, r.RulePriority)
		}
		seen[r.RulePriority] = true
		maxPriority = max(maxPriority, r.RulePriority)
	}
	for i, r := range p.Rules {
		if r.Selection.TagStatus == "any" && r.RulePriority != maxPriority {
			return Policy{}, fmt.Errorf("rules[%d].rulePriority: a rule of tagStatus any must have the highest rulePriority (%d is not %d)", i, r.RulePriority, maxPriority)
		}
	}
	sort.SliceStable(p.Rules, func(i, j int) bool { return p.Rules[i].RulePriority < p.Rules[j].RulePriority })
	return p, nil
}

func (r Rule) check() error {
	s := r.Selection
	switch {
	case r.RulePriority < 1:
		return fmt.Errorf("rulePriority: must be a positive integer, got %d", r.RulePriority)
	case r.Action.Type != "expire":
		return fmt.Errorf("action.type: must be expire, got %q", r.Action.Type)
	}
	switch s.TagStatus {
	case "tagged":
		if len(s.TagPrefixList) == 0 && len(s.TagPatternList) == 0 {
			return fmt.Errorf("selection.tagPrefixList: tagStatus tagged needs a tagPrefixList or a tagPatternList")
		}
		if len(s.TagPrefixList) > 0 && len(s.TagPatternList) > 0 {
			return fmt.Errorf("selection.tagPatternList: give a tagPrefixList or a tagPatternList, not both")
		}
		for i, p := range s.TagPatternList {
			if strings.Count(p, "*") > 4 || p == "" {
				return fmt.Errorf("selection.tagPatternList[%d]: %q: a pattern is not empty and has at most 4 wildcards", i, p)
			}
		}
	case "untagged", "any":
		if len(s.TagPrefixList) > 0 || len(s.TagPatternList) > 0 {
			return fmt.Errorf("selection.tagPrefixList: only with tagStatus tagged")
		}
	default:
		return fmt.Errorf("selection.tagStatus: must be tagged, untagged or any, got %q", s.TagStatus)
	}
	switch s.CountType {
	case "imageCountMoreThan":
		if s.CountUnit != "" {
			return fmt.Errorf("selection.countUnit: not with countType imageCountMoreThan")
		}
	case "sinceImagePushed":
		if s.CountUnit != "days" {
			return fmt.Errorf("selection.countUnit: countType sinceImagePushed needs countUnit days, got %q", s.CountUnit)
		}
	default:
		return fmt.Errorf("selection.countType: must be imageCountMoreThan or sinceImagePushed, got %q", s.CountType)
	}
	if s.CountNumber < 1 {
		return fmt.Errorf("selection.countNumber: must be at least 1, got %d", s.CountNumber)
	}
	return nil
}

// Image is what a policy looks at of an image.
type Image struct {
	Digest   string
	Tags     []string
	PushedAt time.Time
}

// Expired is an image a rule expires.
type Expired struct {
	Digest       string
	Tags         []string
	RulePriority int
}

// Expire returns the images the policy expires at now, each with its rule,
// in rule order and, within a rule, oldest first.
func Expire(p Policy, images []Image, now time.Time) []Expired {
	taken := map[string]bool{}
	var out []Expired
	for _, r := range p.Rules {
		var selected []Image
		for _, img := range images {
			if !taken[img.Digest] && r.Selection.selects(img) {
				selected = append(selected, img)
				taken[img.Digest] = true
			}
		}
		// Newest first: imageCountMoreThan keeps the first countNumber.
		sort.SliceStable(selected, func(i, j int) bool { return selected[i].PushedAt.After(selected[j].PushedAt) })
		var expire []Image
		switch r.Selection.CountType {
		case "imageCountMoreThan":
			if len(selected) > r.Selection.CountNumber {
				expire = selected[r.Selection.CountNumber:]
			}
		case "sinceImagePushed":
			limit := now.Add(-time.Duration(r.Selection.CountNumber) * 24 * time.Hour)
			for _, img := range selected {
				if img.PushedAt.Before(limit) {
					expire = append(expire, img)
				}
			}
		}
		for i := len(expire) - 1; i >= 0; i-- {
			out = append(out, Expired{Digest: expire[i].Digest, Tags: expire[i].Tags, RulePriority: r.RulePriority})
		}
	}
	return out
}

func (s Selection) selects(img Image) bool {
	switch s.TagStatus {
	case "untagged":
		return len(img.Tags) == 0
	case "any":
		return true
	}
	if len(img.Tags) == 0 {
		return false
	}
	for _, prefix := range s.TagPrefixList {
		if !anyTag(img.Tags, func(t string) bool { return strings.HasPrefix(t, prefix) }) {
			return false
		}
	}
	for _, pattern := range s.TagPatternList {
		if !anyTag(img.Tags, func(t string) bool { ok, _ := path.Match(pattern, t); return ok }) {
			return false
		}
	}
	return true
}

func anyTag(tags []string, f func(string) bool) bool {
	for _, t := range tags {
		if f(t) {
			return true
		}
	}
	return false
}
