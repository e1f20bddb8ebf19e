package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// stateFile writes a state file of many pages (task definitions over
// several leaf pages and a branch page, documents in a collection of its
// own pages and in small inline ones) and returns its bytes.
func stateFile(t testing.TB, path string, families, docs int) []byte {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range families {
		_, err := s.Apply(ctx, &berthv1.Command{At: 1700000000, Change: &berthv1.Command_RegisterTaskDefinition{
			RegisterTaskDefinition: &berthv1.RegisterTaskDefinitionCommand{TaskDefinition: &berthv1.TaskDefinition{
				Family: fmt.Sprintf("family-%03d", i%7),
				ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128),
					Command: []string{strings.Repeat("x", 1500)}}},
			}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	value, err := proto.Marshal(wrapperspb.String(strings.Repeat("v", 300)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < docs; {
		var writes []*berthv1.DocumentWrite
		for ; i < docs && len(writes) < 20; i++ {
			writes = append(writes, &berthv1.DocumentWrite{Collection: "big", Key: fmt.Sprintf("doc/%06d", i), Value: value})
		}
		if _, err := s.WriteDocuments(ctx, 1, writes...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		small := Collection[*wrapperspb.StringValue]{Store: s, Name: fmt.Sprintf("small-%d", i), New: func() *wrapperspb.StringValue { return &wrapperspb.StringValue{} }}
		if _, err := small.Put(ctx, 1, "one", wrapperspb.String("1"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRefused checks that Open refuses the state file b written at path as
// truncated or corrupt, naming it, and leaves it as it was.
func wantRefused(t *testing.T, path string, b []byte, why string) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("%s: Open succeeded; want it refused", why)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s: %v (%T); want a *CorruptError", why, err, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "state file "+path+" is truncated or corrupt: ") || !strings.HasSuffix(msg, "; restore it from a backup or move it away") {
		t.Errorf("%s: the message does not say which file and what to do: %s", why, msg)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(b) {
		t.Errorf("%s: the refused file changed (%d bytes, was %d)", why, len(after), len(b))
	}
	t.Logf("%s: %s", why, ce.Reason)
}

// opened checks that Open opens the state file b written at path.
func opened(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("a state file of the %d bytes in use: %v", len(b), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesTruncatedStateFile(t *testing.T) {
	dir := t.TempDir()
	good := stateFile(t, filepath.Join(dir, "good.db"), 60, 400)
	const ps = 4096
	// bbolt grows the file ahead of its pages: what is past the
	// high-water mark may go, not a byte before it.
	m0, err0 := parseMeta(good[:ps])
	m1, err1 := parseMeta(good[ps : 2*ps])
	if err0 != nil || err1 != nil {
		t.Fatal(err0, err1)
	}
	inUse := int(max(m0.pgid, m1.pgid)) * ps
	opened(t, filepath.Join(dir, "hwm.db"), good[:inUse])
	for _, c := range []struct {
		name string
		size int
	}{
		{"to half", len(good) / 2},
		{"by a page of its pages in use", inUse - ps},
		{"by a byte of its pages in use", inUse - 1},
		{"mid-page", ps + 100},
		{"to its meta pages", 2 * ps},
		{"within page 0", 3000},
		{"to 100 bytes", 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefused(t, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".db"), good[:c.size], "truncated "+c.name)
		})
	}
}

// An empty state file is no first start: berth never leaves one (the
// first start makes the file whole or not at all), so it is one truncated
// to nothing.
func TestOpenRefusesEmptyStateFile(t *testing.T) {
	wantRefused(t, filepath.Join(t.TempDir(), "state.db"), nil, "empty")
}

// A missing state file is a first start: Open makes it whole, leaving
// nothing beside it, and the file opens again. What a first start cut short
// left beside it (bbolt's first pages not yet renamed into place) is
// replaced.
func TestOpenMakesMissingStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	if err := os.WriteFile(path+".new", []byte("cut short"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_CreateCluster{CreateCluster: &berthv1.CreateClusterCommand{
			Cluster: &berthv1.Cluster{ClusterName: "first", Status: StatusActive}}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "state.db" {
		t.Errorf("the data dir holds %v after a first start; want only state.db", names)
	}
	if err := checkFile(path); err != nil {
		t.Error(err)
	}
}

func TestOpenRefusesInvalidMetaPages(t *testing.T) {
	dir := t.TempDir()
	good := stateFile(t, filepath.Join(dir, "good.db"), 20, 50)
	const ps = 4096
	spoil := func(from, to int, b byte) []byte {
		out := append([]byte(nil), good...)
		for i := from; i < to; i++ {
			out[i] = b
		}
		return out
	}
	wantRefused(t, filepath.Join(dir, "zeroed.db"), spoil(0, 2*ps, 0), "both meta pages zeroed")
	wantRefused(t, filepath.Join(dir, "ones.db"), spoil(0, 2*ps, 0xff), "both meta pages all ones")
	// both metas' checksums, one byte each
	b := append([]byte(nil), good...)
	b[16+56] ^= 1
	b[ps+16+56] ^= 1
	wantRefused(t, filepath.Join(dir, "sums.db"), b, "both meta checksums flipped")

	// One meta page spoilt: bbolt uses the other, as after a crash while it
	// wrote a meta page; the file opens with the task definitions of that
	// transaction.
	for i, off := range []int{0, ps} {
		path := filepath.Join(dir, fmt.Sprintf("one-%d.db", i))
		if err := os.WriteFile(path, spoil(off, off+ps, 0), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("meta page %d zeroed: %v; want the other used", i, err)
		}
		fams, _, err := s.Families(FamilyQuery{Status: "ALL", Limit: 100})
		s.Close()
		if err != nil || len(fams) != 7 {
			t.Fatalf("meta page %d zeroed: families %v, %v", i, fams, err)
		}
	}
}

// TestOpenBitFlips flips single bits of a state file, mostly in page
// headers and element headers (where bbolt's own walk at open would panic
// out of reach), and opens each: Open either succeeds or refuses with a
// *CorruptError, and never panics (a panic in bbolt's goroutine would end
// the test binary) or changes a file it refuses.
func TestOpenBitFlips(t *testing.T) {
	dir := t.TempDir()
	good := stateFile(t, filepath.Join(dir, "good.db"), 60, 400)
	const ps = 4096
	pages := len(good) / ps
	rnd := rand.New(rand.NewPCG(1, 2))
	trials := 1500
	if testing.Short() {
		trials = 300
	}
	var opened, refusedN, otherErr int
	for i := range trials {
		var off int
		if i%3 == 0 {
			off = rnd.IntN(len(good))
		} else { // a page's header or its first elements' headers
			off = rnd.IntN(pages)*ps + rnd.IntN(16+8*16)
		}
		b := append([]byte(nil), good...)
		b[off] ^= 1 << rnd.IntN(8)
		path := filepath.Join(dir, fmt.Sprintf("flip-%d.db", i))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		var ce *CorruptError
		switch {
		case err == nil:
			opened++
			s.Close()
		case errors.As(err, &ce):
			refusedN++
			if !strings.Contains(err.Error(), path) {
				t.Errorf("byte %d: the refusal does not name the file: %v", off, err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if string(after) != string(b) {
				t.Errorf("byte %d: the refused file changed", off)
			}
		default:
			otherErr++
			t.Logf("byte %d: %v", off, err)
		}
		os.Remove(path)
	}
	t.Logf("%d flips over %d pages: %d opened, %d refused as corrupt, %d other errors", trials, pages, opened, refusedN, otherErr)
}

// BenchmarkOpenLargeStateFile measures checkFile and the whole Open
// (check, bbolt's walk at open, loading the indexes) of a state file of
// about 30 MB.
func BenchmarkOpenLargeStateFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	size := len(stateFile(b, path, 200, 20000))
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			if err := checkFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			s, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}
