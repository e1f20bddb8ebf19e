package awsapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The aws-chunked decoder answers any body with the payload or a
// *BodyError, never a panic, and never more bytes than declared.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
		"5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000\r\nhello\r\n",
		"ffffffffffffffffff\r\n", "0\r\n", "", "3\r\nab", "5\r\nhello\r\n0\r\nx:y\r\nz\r\n\r\n",
	} {
		f.Add(s, 5, false)
	}
	f.Fuzz(func(t *testing.T, body string, declared int, signed bool) {
		r, _ := http.NewRequest(http.MethodPut, "http://x/b/k", strings.NewReader(body))
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(declared))
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		s := Signing{PayloadHash: streamingUnsigned, SignedAt: time.Unix(0, 0), Region: "us-east-1", Service: "s3", Signature: "00"}
		if signed {
			s.PayloadHash = streamingSignedTrailer
		}
		if ferr := decodeChunked(r, s); ferr != nil {
			return
		}
		b, err := io.ReadAll(r.Body)
		var be *BodyError
		if err != nil && !errors.As(err, &be) {
			t.Fatalf("an error of no kind: %T %v", err, err)
		}
		if len(b) > declared {
			t.Fatalf("%d bytes of %d declared", len(b), declared)
		}
		if err == nil && len(b) != declared {
			t.Fatalf("a short body without an error: %d of %d", len(b), declared)
		}
	})
}
