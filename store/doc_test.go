package store

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The bucket tree drawn in the package doc is the tree a new file has, and
// names the schema version this build writes.
func TestPackageDocDrawsTheBuckets(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	var drawn []string
	for _, m := range regexp.MustCompile(`(?m)^\t([a-z][a-z0-9-]*)\b`).FindAllStringSubmatch(doc, -1) {
		drawn = append(drawn, m[1])
	}
	if m := regexp.MustCompile(`schema version (\d+)`).FindStringSubmatch(doc); m == nil || m[1] != strconv.Itoa(int(SchemaVersion())) {
		t.Errorf("the doc's schema version is %v, the build writes %d", m, SchemaVersion())
	}

	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var have []string
	s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error { have = append(have, string(name)); return nil })
	})
	slices.Sort(drawn)
	slices.Sort(have)
	if !slices.Equal(drawn, have) {
		t.Errorf("the doc draws buckets %v; a new file has %v", drawn, have)
	}
}
