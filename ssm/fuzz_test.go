package ssm

import (
	"strings"
	"testing"
)

// FuzzParseSelector: any name a request carries is checked or parsed without
// a panic, and a parsed selector puts the name back together.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"/a/b", "/a/b:3", "/a/b:prod", "x:", ":1", "a:b:c", "/a:0999999999", strings.Repeat("/a", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		CheckName("Name", s, "arn:aws:ssm:us-east-1:000000000000:parameter/")
		CheckPath("Path", s)
		NamesOfARNResource(s)
		sel, err := ParseSelector("Name", s)
		if err != nil {
			return
		}
		if sel.Name+sel.Text != s {
			t.Fatalf("%q parsed to %+v", s, sel)
		}
		if sel.Version < 0 {
			t.Fatalf("%q: version %d", s, sel.Version)
		}
	})
}
