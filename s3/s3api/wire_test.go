package s3api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/s3/s3api"
	"github.com/berth/berth/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var key = awsapi.Key{AccessKeyID: "AKIDBERTHTEST0000000", SecretAccessKey: "secret/berth/test/0000000000000000000000"}

// fakeLambda is an invoke.EventSource with the functions it knows.
type fakeLambda struct {
	mu        sync.Mutex
	functions map[string]bool
	invoked   []invoke.EventRequest
	// during, when set, is called as each event is queued (before the
	// request's pending records are forgotten).
	during func()
}

func (f *fakeLambda) CheckPermission(_ context.Context, req invoke.EventRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.functions[req.Function] {
		return apierr.New(apierr.NotFound, "FunctionNotFound", "Function not found: %s", req.Function)
	}
	return nil
}

func (f *fakeLambda) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	if err := f.CheckPermission(ctx, req); err != nil {
		return err
	}
	f.mu.Lock()
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invoked = append(f.invoked, req)
	return nil
}

func (f *fakeLambda) take() []invoke.EventRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.invoked
	f.invoked = nil
	return out
}

type env struct {
	srv    *httptest.Server
	store  *store.Store
	lambda *fakeLambda
	dir    string
	s3     *s3api.Server
}

// serve runs S3 behind a front door over dir.
func serve(t *testing.T, dir string) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lambda := &fakeLambda{functions: map[string]bool{}}
	srv, err := s3api.New(s3api.Config{Dir: filepath.Join(dir, "s3"), Store: st, Events: lambda})
	if err != nil {
		t.Fatal(err)
	}
	fd := awsapi.New(awsapi.Keys{key.AccessKeyID: key.SecretAccessKey}, awsapi.Options{})
	if err := fd.Register(s3api.Wire(srv)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fd)
	e := &env{srv: hs, store: st, lambda: lambda, dir: dir, s3: srv}
	t.Cleanup(func() { hs.Close(); st.Close() })
	return e
}

// client is aws-sdk-go-v2's S3 client on the server: path-style, or
// virtual-hosted on s3.localhost (dialled at the server whatever the name).
func (e *env) client(t *testing.T, virtual bool) *s3.Client {
	t.Helper()
	addr := e.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	hc := &http.Client{Transport: tr}
	t.Cleanup(hc.CloseIdleConnections)
	endpoint := "http://" + addr
	if virtual {
		_, port, _ := net.SplitHostPort(addr)
		endpoint = "http://s3.localhost:" + port
	}
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: !virtual,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:  hc,
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestSDKObjects(t *testing.T) {
	for _, virtual := range []bool{false, true} {
		t.Run(fmt.Sprintf("virtual=%v", virtual), func(t *testing.T) {
			e := serve(t, t.TempDir())
			c := e.client(t, virtual)
			ctx := context.Background()
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); code(err) != "BucketAlreadyOwnedByYou" {
				t.Fatalf("second create: %v", err)
			}
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")}); err != nil {
				t.Fatal(err)
			}
			body := []byte("hello, berth")
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("a dir/hello.txt"),
				Body: bytes.NewReader(body), ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ann"}}); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("a dir/hello.txt")})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if !bytes.Equal(b, body) || aws.ToString(got.ContentType) != "text/plain" || got.Metadata["owner"] != "ann" {
				t.Fatalf("get: %q %v %v", b, aws.ToString(got.ContentType), got.Metadata)
			}
			rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("a dir/hello.txt"), Range: aws.String("bytes=7-10")})
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(rng.Body)
			rng.Body.Close()
			if string(b) != "bert" || aws.ToString(rng.ContentRange) != "bytes 7-10/12" {
				t.Fatalf("range: %q %s", b, aws.ToString(rng.ContentRange))
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("a dir/hello.txt")})
			if err != nil || aws.ToInt64(head.ContentLength) != 12 {
				t.Fatalf("head: %v %v", err, head)
			}
			if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy.txt"),
				CopySource: aws.String("photos/a%20dir/hello.txt")}); err != nil {
				t.Fatal(err)
			}
			cp, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy.txt")})
			if err != nil || cp.Metadata["owner"] != "ann" || aws.ToString(cp.ETag) != aws.ToString(head.ETag) {
				t.Fatalf("copy: %v %+v", err, cp)
			}
			for i := range 5 {
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(fmt.Sprintf("logs/2026/%d.log", i)),
					Body: strings.NewReader("x")}); err != nil {
					t.Fatal(err)
				}
			}
			// Paging with a delimiter: "a dir/" and "logs/" are prefixes, copy.txt a key.
			var keys, prefixes []string
			p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("photos"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
				for _, cp := range page.CommonPrefixes {
					prefixes = append(prefixes, aws.ToString(cp.Prefix))
				}
			}
			if fmt.Sprint(keys, prefixes) != "[copy.txt] [a dir/ logs/]" {
				t.Fatalf("list: %v %v", keys, prefixes)
			}
			keys = nil
			p = s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("photos"), Prefix: aws.String("logs/"), MaxKeys: aws.Int32(2)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
			}
			if len(keys) != 5 || keys[0] != "logs/2026/0.log" || keys[4] != "logs/2026/4.log" {
				t.Fatalf("prefix list: %v", keys)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")}); code(err) != "BucketNotEmpty" {
				t.Fatalf("delete a full bucket: %v", err)
			}
			del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("photos"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
				{Key: aws.String("logs/2026/0.log")}, {Key: aws.String("logs/2026/1.log")}}}})
			if err != nil || len(del.Deleted) != 2 {
				t.Fatalf("delete objects: %v %+v", err, del)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy.txt")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("copy.txt")}); code(err) != "NoSuchKey" {
				t.Fatalf("get a deleted key: %v", err)
			}
			if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")}); code(err) != "NoSuchBucket" {
				t.Fatalf("get from a missing bucket: %v", err)
			}
			buckets, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if err != nil || len(buckets.Buckets) != 1 || aws.ToString(buckets.Buckets[0].Name) != "photos" {
				t.Fatalf("list buckets: %v %+v", err, buckets)
			}
		})
	}
}

func TestSDKMultipartAndPresign(t *testing.T) {
	e := serve(t, t.TempDir())
	c := e.client(t, false)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 17<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("blob"), ContentType: aws.String("application/x-blob")})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for n, off := int32(1), 0; off < len(data); n, off = n+1, off+5<<20 {
		end := min(off+5<<20, len(data))
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("blob"), UploadId: up.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(data[off:end])})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag})
	}
	res, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("blob"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(res.ETag), `-4"`) {
		t.Fatalf("multipart ETag %s", aws.ToString(res.ETag))
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("blob")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(data)) || aws.ToString(head.ETag) != aws.ToString(res.ETag) ||
		aws.ToString(head.ContentType) != "application/x-blob" {
		t.Fatalf("head: %v %+v", err, head)
	}
	// Presigned GET with plain net/http.
	ps, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob")},
		s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("presigned: %d, %d bytes", resp.StatusCode, len(b))
	}
	resp, err = http.Get(strings.Replace(ps.URL, "/blob", "/other", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>SignatureDoesNotMatch</Code>")) {
		t.Fatalf("tampered presigned URL: %d %s", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()

	// Parts out of order, and too small.
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("bad")})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for n := int32(1); n <= 2; n++ {
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("bad"), UploadId: mp.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader([]byte("small part"))})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("bad"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
	if code(err) != "InvalidPartOrder" {
		t.Fatalf("parts out of order: %v", err)
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("bad"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if code(err) != "EntityTooSmall" {
		t.Fatalf("parts too small: %v", err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("bad"), UploadId: mp.UploadId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("bad")}); code(err) != "NotFound" {
		t.Fatalf("an aborted upload left an object: %v", err)
	}
}

func TestSDKBadInput(t *testing.T) {
	e := serve(t, t.TempDir())
	c := e.client(t, false)
	ctx := context.Background()
	for _, name := range []string{"ab", "Upper", "192.168.1.1", "a..b", "xn--abc", strings.Repeat("a", 64)} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); code(err) != "InvalidBucketName" {
			t.Errorf("bucket %q: %v", name, err)
		}
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("b1")}); code(err) != "InvalidBucketName" {
		t.Errorf("short bucket: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(strings.Repeat("k", 1025)),
		Body: strings.NewReader("x")}); code(err) != "KeyTooLongError" {
		t.Errorf("long key: %v", err)
	}
	wrong := md5.Sum([]byte("other"))
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("k"), Body: strings.NewReader("x"),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(wrong[:]))}); code(err) != "BadDigest" {
		t.Errorf("wrong Content-MD5: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("k")}); code(err) != "NotFound" {
		t.Errorf("a refused put left an object: %v", err)
	}
	bad := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, "not-the-secret", "")})
	if _, err := bad.ListBuckets(ctx, &s3.ListBucketsInput{}); code(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
}

// Objects survive a restart; a write cut short leaves nothing.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	e := serve(t, dir)
	c := e.client(t, false)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keep")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("keep"), Key: aws.String("k"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	// A PUT whose body stops short of its Content-Length.
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/keep/cut", nil)
	req.ContentLength = 1000
	req.Header.Set("X-Amz-Content-Sha256", awsapi.UnsignedPayload)
	signForTest(t, req)
	var head bytes.Buffer
	req.Header.Write(&head)
	fmt.Fprintf(conn, "PUT /keep/cut HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n%s\r\n%s", req.Host, head.String(), strings.Repeat("x", 500))
	conn.Close()
	e.srv.Close()
	e.store.Close()

	e2 := serve(t, dir)
	c2 := e2.client(t, false)
	got, err := c2.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keep"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "kept" {
		t.Fatalf("after restart: %q", b)
	}
	if _, err := c2.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keep"), Key: aws.String("cut")}); code(err) != "NotFound" {
		t.Fatalf("a cut upload: %v", err)
	}
}

func signForTest(t *testing.T, req *http.Request) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(context.Background(), creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// Over HTTPS aws-sdk-go-v2 streams a PUT as aws-chunked with a trailing
// CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER): the front door decodes it.
func TestSDKChunkedOverTLS(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3api.New(s3api.Config{Dir: filepath.Join(dir, "s3"), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	fd := awsapi.New(awsapi.Keys{key.AccessKeyID: key.SecretAccessKey}, awsapi.Options{})
	if err := fd.Register(s3api.Wire(srv)); err != nil {
		t.Fatal(err)
	}
	var seen []string
	var mu sync.Mutex
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Amz-Content-Sha256")+"/"+r.Header.Get("Content-Encoding")+"/"+r.Header.Get("X-Amz-Trailer")+"/"+r.Header.Get("X-Amz-Checksum-Crc32"))
		mu.Unlock()
		fd.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.Close(); st.Close() })
	hc := hs.Client()
	t.Cleanup(hc.CloseIdleConnections)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tls")}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("chunk"), 100000)
	// A body that cannot seek: the SDK streams it with a trailing checksum.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("k"),
		Body: struct{ io.Reader }{bytes.NewReader(body)}, ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(b, body) {
		t.Fatalf("%d bytes back of %d", len(b), len(body))
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(seen, " "), "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
		t.Fatalf("the SDK sent no aws-chunked body (payload hashes %v)", seen)
	}
}
