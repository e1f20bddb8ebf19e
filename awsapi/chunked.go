package awsapi

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The STREAMING- payload hashes of S3's aws-chunked bodies.
const (
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsigned      = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// emptySHA256 is the hex SHA-256 of nothing.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// maxChunkLine bounds a chunk's header line and a trailer's line.
const maxChunkLine = 4096

// BodyError is a body that does not hold what its headers and signature
// promised: a chunk's signature that does not match, a checksum in the
// trailer that is not the body's, a length that is not the declared one.
// Code is S3's error code for it.
type BodyError struct {
	Code, Message string
}

func (e *BodyError) Error() string { return e.Code + ": " + e.Message }

// decodeChunked replaces r's aws-chunked body with the payload it carries,
// checking each chunk's signature (the signed forms) and the trailing
// checksum (the -TRAILER forms) as it is read: the handler sees a plain
// body of X-Amz-Decoded-Content-Length bytes, and its reads fail with a
// *BodyError at the first byte that does not hold.
func decodeChunked(r *http.Request, s Signing) *fault {
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return faultf(incompleteSignature, http.StatusBadRequest, "an aws-chunked body needs X-Amz-Decoded-Content-Length, the payload's length")
	}
	d := &chunkReader{body: r.Body, r: bufio.NewReaderSize(r.Body, 64<<10), remaining: n}
	switch s.PayloadHash {
	case streamingSigned, streamingSignedTrailer:
		d.signed = true
		d.key = s.SigningKey()
		d.prev = s.Signature
		d.stamp = s.SignedAt.UTC().Format("20060102T150405Z")
		d.scope = s.SignedAt.UTC().Format("20060102") + "/" + s.Region + "/" + s.Service + "/aws4_request"
		d.trailer = s.PayloadHash == streamingSignedTrailer
	case streamingUnsigned:
		d.trailer = true
	default:
		return faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Content-Sha256 %q is no streaming payload berth knows", s.PayloadHash)
	}
	if d.trailer {
		name := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
		if name != "" {
			d.sum, d.sumName = checksumHash(name), name
		}
	}
	r.Body = d
	r.ContentLength = n
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	r.Header.Del("X-Amz-Decoded-Content-Length")
	var encodings []string
	for _, e := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			encodings = append(encodings, e)
		}
	}
	if len(encodings) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(encodings, ","))
	}
	// The body is checked as it is read: what follows sees a plain one.
	r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	return nil
}

// checksumHash is the hash of an x-amz-checksum-* trailer, nil for one berth
// does not check.
func checksumHash(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-crc64nvme":
		return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil
}

// chunkReader decodes an aws-chunked body.
type chunkReader struct {
	body io.Closer
	r    *bufio.Reader

	signed              bool
	key                 []byte
	prev, stamp, scope  string
	trailer             bool
	sum                 hash.Hash
	sumName             string
	remaining           int64 // of the declared decoded length
	chunk               int64 // left in the current chunk
	chunkSig            string
	chunkHash           hash.Hash
	err                 error
	started, finalChunk bool
}

func (d *chunkReader) Close() error { return d.body.Close() }

func (d *chunkReader) fail(code, format string, args ...any) error {
	d.err = &BodyError{Code: code, Message: fmt.Sprintf(format, args...)}
	return d.err
}

func (d *chunkReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	for d.chunk == 0 {
		if d.started {
			if err := d.endChunk(); err != nil {
				return 0, err
			}
		}
		d.started = true
		if err := d.nextChunk(); err != nil {
			return 0, err
		}
		if d.finalChunk {
			if err := d.finish(); err != nil {
				return 0, err
			}
			d.err = io.EOF
			return 0, io.EOF
		}
	}
	if int64(len(p)) > d.chunk {
		p = p[:d.chunk]
	}
	n, err := d.r.Read(p)
	d.chunk -= int64(n)
	if d.chunkHash != nil {
		d.chunkHash.Write(p[:n])
	}
	if d.sum != nil {
		d.sum.Write(p[:n])
	}
	if err == io.EOF {
		return n, d.fail("IncompleteBody", "the aws-chunked body ended inside a chunk")
	}
	if err != nil {
		d.err = err
	}
	return n, err
}

// line reads one CRLF-terminated line.
func (d *chunkReader) line() (string, error) {
	var b []byte
	for {
		part, isPrefix, err := d.r.ReadLine()
		if err == io.EOF {
			return "", d.fail("IncompleteBody", "the aws-chunked body ended early")
		}
		if err != nil {
			d.err = err
			return "", err
		}
		b = append(b, part...)
		if len(b) > maxChunkLine {
			return "", d.fail("InvalidChunkSizeError", "a line of the aws-chunked body is longer than %d bytes", maxChunkLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// nextChunk reads a chunk's header: SIZE[;chunk-signature=SIG].
func (d *chunkReader) nextChunk() error {
	line, err := d.line()
	if err != nil {
		return err
	}
	sizeText, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	if err != nil || size < 0 || len(sizeText) > 16 {
		return d.fail("InvalidChunkSizeError", "the chunk size %q is not a hexadecimal number", sizeText)
	}
	if d.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok || len(sig) != 64 {
			return d.fail("IncompleteSignature", "a chunk of a signed aws-chunked body has no chunk-signature")
		}
		d.chunkSig = sig
		d.chunkHash = sha256.New()
	}
	if size > d.remaining {
		return d.fail("IncompleteBody", "the aws-chunked body holds more than X-Amz-Decoded-Content-Length")
	}
	d.remaining -= size
	d.chunk = size
	if size == 0 {
		d.finalChunk = true
		if d.signed {
			return d.checkChunk()
		}
	}
	return nil
}

// endChunk checks a data chunk's signature and reads its CRLF.
func (d *chunkReader) endChunk() error {
	if d.signed {
		if err := d.checkChunk(); err != nil {
			return err
		}
	}
	line, err := d.line()
	if err != nil {
		return err
	}
	if line != "" {
		return d.fail("IncompleteBody", "a chunk of the aws-chunked body is longer than its size")
	}
	return nil
}

func (d *chunkReader) hmac(data string) string {
	h := hmac.New(sha256.New, d.key)
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil))
}

// checkChunk checks the signature of the chunk just read.
func (d *chunkReader) checkChunk() error {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + d.stamp + "\n" + d.scope + "\n" + d.prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(d.chunkHash.Sum(nil))
	want := d.hmac(sts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(d.chunkSig)) != 1 {
		return d.fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided: a chunk's signature of the aws-chunked body")
	}
	d.prev = d.chunkSig
	return nil
}

// finish reads what follows the final chunk: nothing but CRLF, or the
// trailer (with its signature in the signed form), and checks the checksum.
func (d *chunkReader) finish() error {
	if d.remaining != 0 {
		return d.fail("IncompleteBody", "the aws-chunked body holds %d bytes fewer than X-Amz-Decoded-Content-Length", d.remaining)
	}
	if !d.trailer {
		line, err := d.line()
		if err != nil {
			return err
		}
		if line != "" {
			return d.fail("IncompleteBody", "the aws-chunked body goes on after its final chunk")
		}
		return nil
	}
	var canonical bytes.Buffer
	trailers := map[string]string{}
	trailerSig := ""
	for {
		line, err := d.line()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return d.fail("MalformedTrailerError", "the trailer line %q is not NAME:VALUE", line)
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
			continue
		}
		if len(trailers) >= 10 {
			return d.fail("MalformedTrailerError", "too many trailers")
		}
		trailers[name] = value
		canonical.WriteString(name + ":" + value + "\n")
	}
	if d.signed {
		sum := sha256.Sum256(canonical.Bytes())
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + d.stamp + "\n" + d.scope + "\n" + d.prev + "\n" + hex.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(d.hmac(sts)), []byte(trailerSig)) != 1 {
			return d.fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided: the trailer's signature of the aws-chunked body")
		}
	}
	if d.sum != nil {
		got, ok := trailers[d.sumName]
		if !ok {
			return d.fail("MalformedTrailerError", "the body's trailer lacks %s, which X-Amz-Trailer names", d.sumName)
		}
		if want := base64.StdEncoding.EncodeToString(d.sum.Sum(nil)); got != want {
			return d.fail("BadDigest", "The %s you specified did not match the calculated checksum.", strings.TrimPrefix(d.sumName, "x-amz-checksum-"))
		}
	}
	return nil
}

// IsBodyError reports whether err is a body that broke its promise, and
// which.
func IsBodyError(err error) (*BodyError, bool) {
	var be *BodyError
	ok := errors.As(err, &be)
	return be, ok
}
