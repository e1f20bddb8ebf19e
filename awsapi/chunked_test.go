package awsapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedChunked signs req for an aws-chunked body of payload in chunks of
// size, with the SDK's signers: the seed signature over the headers, each
// chunk's signature with its stream signer.
func signedChunked(t *testing.T, req *http.Request, payload []byte, size int, at time.Time) []byte {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(context.Background(), creds, req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed, _ := hex.DecodeString(auth[strings.LastIndex(auth, "Signature=")+len("Signature="):])
	ss := v4.NewStreamSigner(creds, "s3", "us-east-1", seed)
	var body bytes.Buffer
	for rest := payload; ; {
		n := min(size, len(rest))
		sig, err := ss.GetSignature(context.Background(), nil, rest[:n], at)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%x\r\n%s\r\n", n, sig, rest[:n])
		rest = rest[n:]
		if n == 0 {
			break
		}
	}
	return body.Bytes()
}

func TestChunkedSigned(t *testing.T) {
	srv, _ := frontDoor(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80,000 bytes: 64 KiB and the rest
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", nil)
	body := signedChunked(t, req, payload, 64<<10, time.Now())
	req.Body, req.ContentLength = ioNopCloser(body), int64(len(body))
	resp, b := send(t, req, "", nil, time.Now())
	if resp.StatusCode != 200 || string(b) != "PUT /bucket/k 80000 bytes payload=STREAMING-AWS4-HMAC-SHA256-PAYLOAD presigned=false" {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// A byte changed in a chunk breaks its signature.
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", nil)
	body = signedChunked(t, req, payload, 64<<10, time.Now())
	body[200] ^= 1
	req.Body, req.ContentLength = ioNopCloser(body), int64(len(body))
	if resp, b = send(t, req, "", nil, time.Now()); resp.StatusCode != 400 || !bytes.Contains(b, []byte("SignatureDoesNotMatch")) {
		t.Fatalf("tampered chunk: %d %s", resp.StatusCode, b)
	}
	// A declared length the chunks do not hold.
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", nil)
	body = signedChunked(t, req, payload, 64<<10, time.Now())
	req.Header.Set("X-Amz-Decoded-Content-Length", "70000") // signed: the seed no longer matches
	req.Body, req.ContentLength = ioNopCloser(body), int64(len(body))
	if resp, b = send(t, req, "", nil, time.Now()); resp.StatusCode != 403 || !bytes.Contains(b, []byte("SignatureDoesNotMatch")) {
		t.Fatalf("changed length: %d %s", resp.StatusCode, b)
	}
}

func TestChunkedUnsignedTrailer(t *testing.T) {
	srv, _ := frontDoor(t)
	payload := []byte("hello, chunks")
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(payload))
	for _, tt := range []struct {
		name, sum string
		status    int
		want      string
	}{
		{"good checksum", base64.StdEncoding.EncodeToString(crc[:]), 200, "PUT /bucket/k 13 bytes payload=STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
		{"bad checksum", "AAAAAA==", 400, "BadDigest"},
	} {
		body := fmt.Sprintf("7\r\n%s\r\n6\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", payload[:7], payload[7:], tt.sum)
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/k", strings.NewReader(body))
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
		resp, b := send(t, req, "s3", nil, time.Now())
		if resp.StatusCode != tt.status || !bytes.Contains(b, []byte(tt.want)) {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, b)
		}
	}
}
