package awsapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FuzzSigV4 feeds the SigV4 parser and checker an Authorization header, an
// X-Amz-Date and a query (presigned or not) of any shape: each request is
// accepted only when signed with a known key within the allowed skew, and
// refused otherwise with a fault of its own class and a 4xx status (or 500
// for a session check that failed), never a panic.
func FuzzSigV4(f *testing.F) {
	const akid, secret = "AKIDFUZZ", "fuzzsecret"
	keys := Keys{akid: secret}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Seeds: a request signed by aws-sdk-go-v2's signer, and a presigned one.
	signed := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "http", Host: "127.0.0.1:7480", Path: "/"}, Host: "127.0.0.1:7480", Header: http.Header{}}
	signed.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
	if err := signer.SignHTTP(context.Background(), creds, signed, UnsignedPayload, "ecs", "us-east-1", now); err != nil {
		f.Fatal(err)
	}
	f.Add(signed.Header.Get("Authorization"), signed.Header.Get("X-Amz-Date"), "", "/")
	pre := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "127.0.0.1:7480", Path: "/bucket/key", RawQuery: "X-Amz-Expires=300"}, Host: "127.0.0.1:7480", Header: http.Header{}}
	presigned, _, err := s3Signer.PresignHTTP(context.Background(), creds, pre, UnsignedPayload, "s3", "us-east-1", now)
	if err != nil {
		f.Fatal(err)
	}
	pu, _ := url.Parse(presigned)
	f.Add("", "", pu.RawQuery, "/bucket/key")
	for _, s := range []string{"AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20260102/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
		"AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=,Signature=", "AWS AKID:sig", "AWS4-HMAC-SHA256 Credential=////aws4_request, SignedHeaders=;;;, Signature=x"} {
		f.Add(s, "20260102T030405Z", "", "/")
	}
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDFUZZ%2F20260102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260102T030405Z&X-Amz-Expires=0&X-Amz-SignedHeaders=host&X-Amz-Signature=ab", "/b/k")
	f.Add("", "", "AWSAccessKeyId=AKIDFUZZ&Expires=1767323045&Signature=abc%3D", "/b/k")
	f.Fuzz(func(t *testing.T, authorization, amzDate, rawQuery, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "127.0.0.1:7480", Path: path, RawQuery: rawQuery},
			Host: "127.0.0.1:7480", Header: http.Header{}}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if amzDate != "" {
			r.Header.Set("X-Amz-Date", amzDate)
		}
		c, ok, ferr := credentialOf(r)
		if ferr != nil {
			checkFault(t, ferr)
			return
		}
		if !ok {
			return
		}
		s, ferr := keys.verify(r, c, UnsignedPayload, now, nil)
		if ferr != nil {
			checkFault(t, ferr)
			return
		}
		if s.AccessKeyID != akid {
			t.Fatalf("accepted for access key %q", s.AccessKeyID)
		}
		if !c.v2 {
			if d := now.Sub(s.SignedAt); d > maxPresignedExpiry || d < -maxSkew {
				t.Fatalf("accepted a signature made at %s, %s from now", s.SignedAt, d)
			}
		}
	})
}

func checkFault(t *testing.T, f *fault) {
	t.Helper()
	if f.message == "" || f.status < 400 || f.status > 599 {
		t.Fatalf("a fault without its message or status: %+v", f)
	}
}
