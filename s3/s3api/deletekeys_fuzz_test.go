package s3api

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzDeleteKeys: whatever a DeleteObjects body holds, reading its keys
// ahead leaves the body for S3's handler byte for byte, and it finds no
// more keys than the body has Object elements.
func FuzzDeleteKeys(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a/b.png</Key></Object><Object><Key>c</Key></Object><Quiet>true</Quiet></Delete>`))
	f.Add([]byte(`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>&lt;x&gt;</Key><VersionId>1</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/bucket?delete", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		keys := deleteKeys(r)
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("the body after its keys were read: %q, %v; want %q", got, err, body)
		}
		if len(keys) > bytes.Count(body, []byte("Object")) {
			t.Fatalf("%d keys from a body naming %d objects", len(keys), bytes.Count(body, []byte("Object")))
		}
	})
}
