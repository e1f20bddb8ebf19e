package s3fs

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

func put(t *testing.T, b *Backend, bucket, key, body string) {
	t.Helper()
	if _, err := b.PutObject(bucket, key, map[string]string{"Content-Type": "text/plain", "X-Amz-Meta-Owner": "ann", "X-Amz-Date": "x"},
		strings.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatal(err)
	}
}

func list(t *testing.T, b *Backend, prefix, delim string, max int64) []string {
	t.Helper()
	var out []string
	page := gofakes3.ListBucketPage{MaxKeys: max}
	for {
		p := gofakes3.Prefix{Prefix: prefix, HasPrefix: prefix != "", Delimiter: delim, HasDelimiter: delim != ""}
		res, err := b.ListBucket("b", &p, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Contents {
			out = append(out, c.Key)
		}
		for _, c := range res.CommonPrefixes {
			out = append(out, c.Prefix)
		}
		if !res.IsTruncated {
			return out
		}
		page = gofakes3.ListBucketPage{MaxKeys: max, Marker: res.NextMarker, HasMarker: true}
	}
}

func TestListing(t *testing.T) {
	b, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "a/1", "a/2", "a/b/3", "b/1", "c", "c/"} {
		put(t, b, "b", k, k)
	}
	for _, tt := range []struct {
		prefix, delim string
		max           int64
		want          string
	}{
		{"", "", 1000, "a a/1 a/2 a/b/3 b/1 c c/"},
		{"", "", 2, "a a/1 a/2 a/b/3 b/1 c c/"},
		{"", "/", 1000, "a c a/ b/ c/"},
		{"", "/", 1, "a a/ b/ c c/"},
		{"a/", "/", 1000, "a/1 a/2 a/b/"},
		{"a/", "/", 1, "a/1 a/2 a/b/"},
		{"a/b", "", 1000, "a/b/3"},
		{"z", "/", 1000, ""},
	} {
		if got := strings.Join(list(t, b, tt.prefix, tt.delim, tt.max), " "); got != tt.want {
			t.Errorf("prefix %q delimiter %q max %d: %q, want %q", tt.prefix, tt.delim, tt.max, got, tt.want)
		}
	}
}

// What a crash leaves (files being written, a bucket half made, a bucket
// half removed) is gone at the next Open; objects are all there, with
// their metadata and nothing of the request's other headers.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	put(t, b, "b", "k", "kept")
	os.WriteFile(filepath.Join(dir, "tmp", "w-123"), []byte("half an object"), 0o600)
	os.MkdirAll(filepath.Join(dir, "buckets", "half"), 0o700) // no .bucket: never finished
	b2, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp holds %d entries", len(ents))
	}
	if ok, _ := b2.BucketExists("half"); ok {
		t.Fatal("a half-made bucket")
	}
	obj, err := b2.GetObject("b", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if string(body) != "kept" || obj.Metadata["X-Amz-Meta-Owner"] != "ann" || obj.Metadata["Content-Type"] != "text/plain" || obj.Metadata["X-Amz-Date"] != "" {
		t.Fatalf("%q %v", body, obj.Metadata)
	}
	// A body shorter than its length: nothing is stored.
	if _, err := b2.PutObject("b", "short", nil, strings.NewReader("abc"), 10, nil); err == nil {
		t.Fatal("a short body was stored")
	}
	if _, _, ok := b2.Stat("b", "short"); ok {
		t.Fatal("a short body is listed")
	}
	if err := b2.DeleteBucket("b"); !gofakes3.HasErrorCode(err, gofakes3.ErrBucketNotEmpty) {
		t.Fatalf("delete a full bucket: %v", err)
	}
	// Ranges.
	for _, tt := range []struct {
		rng  gofakes3.ObjectRangeRequest
		want string
	}{{gofakes3.ObjectRangeRequest{Start: 1, End: 2}, "ep"}, {gofakes3.ObjectRangeRequest{Start: 2, End: gofakes3.RangeNoEnd}, "pt"},
		{gofakes3.ObjectRangeRequest{FromEnd: true, End: 3}, "ept"}} {
		obj, err := b2.GetObject("b", "k", &tt.rng)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		if string(got) != tt.want {
			t.Errorf("%+v: %q, want %q", tt.rng, got, tt.want)
		}
	}
}
