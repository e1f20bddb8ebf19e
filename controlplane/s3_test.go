package controlplane_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// S3 on the control plane's HTTP port: ListBuckets is GET / (the
// dashboard's page for a browser), buckets may be named as the dashboard's
// paths, and an object may be larger than the bound on other requests.
func TestS3OnTheFrontDoor(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	ctx := context.Background()
	for _, b := range []string{"dashboard", "metrics", "healthz"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("bucket %s: %v", b, err)
		}
	}
	big := bytes.Repeat([]byte("b"), controlplane.MaxRequestBytes+1)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("metrics"), Key: aws.String("static/big"), Body: bytes.NewReader(big)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("metrics"), Key: aws.String("static/big")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(b, big) {
		t.Fatalf("%d bytes back", len(b))
	}
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 3 {
		t.Fatalf("list buckets: %v %+v", err, out)
	}
	// A browser still gets the dashboard.
	resp, err := hc.Get("http://" + c.CP.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(bytes.ToLower(page), []byte("<html")) {
		t.Fatalf("dashboard: %d %.100s", resp.StatusCode, page)
	}
}
