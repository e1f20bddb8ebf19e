// Package s3api is S3 on berth's front door: gofakes3's S3 handler over
// s3fs's files under <data-dir>/s3, behind the front door's SigV4 check,
// with what berth adds around it: virtual-hosted buckets
// (BUCKET.s3.localhost), S3's bucket-name rules, S3's error statuses for
// the codes the library does not know, the ?notification subresource
// (configurations kept in the store, collection "s3-notifications"), and
// the events of each change: delivered to functions through an
// invoke.EventSource, and appended to berth's event log for buckets with
// EventBridge on.
//
// Events are sent from the request's goroutine once the change is on disk;
// s3api starts no goroutines.
package s3api

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/s3/s3fs"
	"github.com/berth/berth/store"
)

// DefaultHostBase is the domain of virtual-hosted buckets:
// http://BUCKET.s3.localhost:7480/KEY.
const DefaultHostBase = "s3.localhost"

// Config is what a Server needs.
type Config struct {
	// Dir holds the objects (<data-dir>/s3).
	Dir   string
	Store *store.Store
	// Events invokes functions for notifications; nil until Lambda is wired:
	// then a configuration naming a function is refused as one S3 cannot
	// validate.
	Events invoke.EventSource
	ARNs   arn.Namer
	// HostBases are the domains of virtual-hosted buckets (DefaultHostBase
	// when empty).
	HostBases []string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Server serves S3.
type Server struct {
	cfg     Config
	backend *s3fs.Backend
	s3      http.Handler
	notes   store.Collection[*berthv1.S3BucketNotification]
	// pendings are the changes whose events are not queued yet.
	pendings store.Collection[*berthv1.S3PendingChange]
	started  float64 // when the server was made: Recover's bound

	mu  sync.Mutex
	seq uint64 // the last sequencer given
}

// New opens the objects under cfg.Dir.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.HostBases) == 0 {
		cfg.HostBases = []string{DefaultHostBase}
	}
	if cfg.ARNs == (arn.Namer{}) {
		cfg.ARNs = arn.Default
	}
	b, err := s3fs.Open(cfg.Dir, cfg.Now)
	if err != nil {
		return nil, err
	}
	fake := gofakes3.New(b,
		gofakes3.WithTimeSkewLimit(0), // the front door checked the signature's time
		gofakes3.WithTimeSource(clock{cfg.Now}),
		gofakes3.WithoutVersioning(),
		gofakes3.WithLogger(errorLog{cfg.Logger}),
	)
	return &Server{cfg: cfg, backend: b, s3: fake.Server(),
		notes: store.Collection[*berthv1.S3BucketNotification]{Store: cfg.Store, Name: "s3-notifications",
			New: func() *berthv1.S3BucketNotification { return &berthv1.S3BucketNotification{} }},
		pendings: store.Collection[*berthv1.S3PendingChange]{Store: cfg.Store, Name: "s3-pending",
			New: func() *berthv1.S3PendingChange { return &berthv1.S3PendingChange{} }},
		started: float64(cfg.Now().UnixNano()) / 1e9}, nil
}

// errorLog passes the library's errors (an internal error's cause) to the
// logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		l.log.Error("s3: " + fmt.Sprint(v...))
	}
}

type clock struct{ now func() time.Time }

func (c clock) Now() time.Time                  { return c.now() }
func (c clock) Since(t time.Time) time.Duration { return c.now().Sub(t) }

// Backend is the object store, for counts and tests.
func (s *Server) Backend() *s3fs.Backend { return s.backend }

// Wire is S3 on the front door: REST-XML, signing name s3, served by the
// library's handler.
func Wire(s *Server) awsapi.Service {
	return awsapi.Service{Name: "s3", SigningName: "s3", Protocols: []awsapi.Protocol{awsapi.RESTXML},
		Handler: s.ServeS3, Exception: func(*apierr.Error) (string, int) { return "InternalError", http.StatusInternalServerError }}
}

// Addressed says whether r is for S3: signed for s3 (header or presigned
// query), or to a virtual-hosted bucket. The control plane sends these past
// its dashboard and its bound on request bodies.
func Addressed(r *http.Request, hostBases ...string) bool {
	if strings.Contains(r.Header.Get("Authorization"), "/s3/aws4_request") {
		return true
	}
	if q := r.URL.Query(); strings.Contains(q.Get("X-Amz-Credential"), "/s3/aws4_request") ||
		(q.Get("AWSAccessKeyId") != "" && q.Get("Signature") != "") {
		return true
	}
	if len(hostBases) == 0 {
		hostBases = []string{DefaultHostBase}
	}
	_, ok := hostBucket(r.Host, hostBases)
	return ok
}

// hostBucket is the bucket a virtual-hosted Host names.
func hostBucket(host string, bases []string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, base := range bases {
		if b, ok := strings.CutSuffix(host, "."+base); ok && b != "" {
			return b, true
		}
	}
	return "", false
}

// unsupported are S3's subresources berth does not serve: the library would
// take them for another operation.
var unsupported = []string{"acl", "policy", "policyStatus", "tagging", "cors", "lifecycle", "encryption", "website", "logging",
	"replication", "ownershipControls", "publicAccessBlock", "object-lock", "accelerate", "requestPayment", "analytics",
	"inventory", "metrics", "intelligent-tiering", "retention", "legal-hold", "attributes", "restore", "select", "torrent",
	"notification-configuration"}

// ServeS3 serves one request whose signature the front door checked.
func (s *Server) ServeS3(w http.ResponseWriter, r *http.Request, sig awsapi.Signing) {
	if b, ok := hostBucket(r.Host, s.cfg.HostBases); ok {
		p := r.URL.Path
		r.URL.Path = "/" + b
		if p != "/" && p != "" {
			r.URL.Path += p
		}
		r.URL.RawPath = ""
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	rw := &responseWriter{ResponseWriter: w, requestID: w.Header().Get("X-Amzn-Requestid")}
	defer rw.finish()
	w = rw
	r.Body = bodyErrors{r.Body}
	for _, name := range unsupported {
		if _, ok := q[name]; ok {
			writeError(w, "NotImplemented", http.StatusNotImplemented, "berth does not implement the "+name+" subresource", nil)
			return
		}
	}
	if bucket != "" && key != "" && len(key) > gofakes3.KeySizeLimit {
		writeError(w, "KeyTooLongError", http.StatusBadRequest, "Your key is too long", nil)
		return
	}
	if _, ok := q["notification"]; ok && bucket != "" && key == "" {
		s.notification(w, r, bucket)
		return
	}
	if bucket != "" && key == "" && r.Method == http.MethodPut && len(q) == 0 {
		s.createBucket(w, r, bucket)
		return
	}
	ch := s.before(r, who{rw.requestID, sig.AccessKeyID}, bucket, key, q)
	defer func() {
		// A POST upload's form (parsed here or by the library) on a copy
		// of the server's request, which would not remove its files.
		if r.MultipartForm != nil {
			r.MultipartForm.RemoveAll()
		}
	}()
	if ch != nil && ch.multiDelete {
		rw.keep = true
	}
	s.s3.ServeHTTP(w, r)
	if rw.status() >= 300 || ch == nil {
		s.settle(r.Context(), ch)
		return
	}
	s.after(r, rw, sig, ch)
}

// createBucket makes a bucket with S3's name rules; a body
// (CreateBucketConfiguration) may name the region.
func (s *Server) createBucket(w http.ResponseWriter, r *http.Request, bucket string) {
	if err := ValidBucketName(bucket); err != nil {
		writeError(w, "InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid: "+err.Error(), map[string]string{"BucketName": bucket})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeBodyError(w, err)
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var conf struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if xml.Unmarshal(body, &conf) != nil {
			writeError(w, "MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema", nil)
			return
		}
		if conf.LocationConstraint != "" && conf.LocationConstraint != s.cfg.ARNs.Region {
			writeError(w, "IllegalLocationConstraintException", http.StatusBadRequest,
				fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", conf.LocationConstraint), nil)
			return
		}
	}
	if err := s.backend.CreateBucket(bucket); err != nil {
		if gofakes3.HasErrorCode(err, s3fs.ErrBucketAlreadyOwnedByYou) {
			writeError(w, string(s3fs.ErrBucketAlreadyOwnedByYou), http.StatusConflict,
				"Your previous request to create the named bucket succeeded and you already own it.", map[string]string{"BucketName": bucket})
			return
		}
		s.cfg.Logger.Error("s3: create bucket", "bucket", bucket, "err", err)
		writeError(w, "InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.", nil)
		return
	}
	w.Header().Set("Location", "/"+bucket)
	w.WriteHeader(http.StatusOK)
}

// bodyErrors turns the front door's *awsapi.BodyError into S3's error as
// the library writes it.
type bodyErrors struct{ io.ReadCloser }

func (b bodyErrors) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if be, ok := awsapi.IsBodyError(err); ok {
		return n, gofakes3.ErrorMessage(gofakes3.ErrorCode(be.Code), be.Message)
	}
	return n, err
}

func writeBodyError(w http.ResponseWriter, err error) {
	if e, ok := err.(*gofakes3.ErrorResponse); ok {
		writeError(w, string(e.Code), statusOf(string(e.Code)), e.Message, nil)
		return
	}
	writeError(w, "IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header", nil)
}

// statuses are S3's statuses of the codes the library sends as 500.
var statuses = map[string]int{
	"BucketAlreadyOwnedByYou": http.StatusConflict, "EntityTooSmall": http.StatusBadRequest, "EntityTooLarge": http.StatusBadRequest,
	"SignatureDoesNotMatch": http.StatusForbidden, "XAmzContentSHA256Mismatch": http.StatusBadRequest, "IncompleteSignature": http.StatusForbidden,
	"InvalidChunkSizeError": http.StatusBadRequest, "MalformedTrailerError": http.StatusBadRequest, "IncompleteBody": http.StatusBadRequest,
	"BadDigest": http.StatusBadRequest, "InvalidRequest": http.StatusBadRequest, "NotImplemented": http.StatusNotImplemented,
}

// messages are S3's messages of the codes the library sends without one.
var messages = map[string]string{
	"NoSuchKey":          "The specified key does not exist.",
	"NoSuchBucket":       "The specified bucket does not exist",
	"BucketNotEmpty":     "The bucket you tried to delete is not empty",
	"NoSuchUpload":       "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
	"InvalidPart":        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
	"InvalidPartOrder":   "The list of parts was not in ascending order. Parts must be ordered by part number.",
	"BadDigest":          "The Content-MD5 you specified did not match what we received.",
	"InvalidDigest":      "The Content-MD5 you specified is not valid.",
	"KeyTooLongError":    "Your key is too long",
	"InvalidRange":       "The requested range is not satisfiable",
	"MethodNotAllowed":   "The specified method is not allowed against this resource.",
	"MalformedXML":       "The XML you provided was not well-formed or did not validate against our published schema",
	"IncompleteBody":     "You did not provide the number of bytes specified by the Content-Length HTTP header",
	"EntityTooSmall":     "Your proposed upload is smaller than the minimum allowed object size.",
	"NotImplemented":     "A header you provided implies functionality that is not implemented",
	"InvalidArgument":    "Invalid Argument",
	"PreconditionFailed": "At least one of the preconditions you specified did not hold",
}

func statusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	if s := gofakes3.ErrorCode(code).Status(); s != 0 {
		return s
	}
	return http.StatusInternalServerError
}

// errorDoc is S3's <Error>, with the extra elements some codes carry.
func errorDoc(code, message, requestID string, extra map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header + "<Error><Code>")
	xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message>")
	for _, k := range sortedKeys(extra) {
		fmt.Fprintf(&b, "<%s>", k)
		xml.EscapeText(&b, []byte(extra[k]))
		fmt.Fprintf(&b, "</%s>", k)
	}
	b.WriteString("<RequestId>")
	xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestId></Error>")
	return b.Bytes()
}

func writeError(w http.ResponseWriter, code string, status int, message string, extra map[string]string) {
	id := w.Header().Get("X-Amzn-Requestid")
	if rw, ok := w.(*responseWriter); ok {
		id = rw.requestID
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write(errorDoc(code, message, id, extra))
}

// responseWriter sends S3's status for the library's errors, the ETag of a
// multipart object, and keeps a DeleteObjects result for its events.
type responseWriter struct {
	http.ResponseWriter
	requestID string
	code      int
	errBody   *bytes.Buffer // an error's body, held until finish
	keep      bool
	kept      bytes.Buffer
}

func (w *responseWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *responseWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	h := w.Header()
	if et := h.Get(s3fs.ETagHeader); et != "" {
		h.Set("ETag", et)
	}
	h.Del(s3fs.ETagHeader)
	// User metadata goes out in lowercase, as S3 sends it (clients take the
	// names as they come).
	for name, vs := range h {
		if strings.HasPrefix(name, "X-Amz-Meta-") {
			delete(h, name)
			h[strings.ToLower(name)] = vs
		}
	}
	if code >= 400 {
		w.errBody = &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.errBody != nil {
		if w.errBody.Len() < 64<<10 {
			w.errBody.Write(p)
		}
		return len(p), nil
	}
	if w.keep && w.kept.Len() < 4<<20 {
		w.kept.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// finish writes a held error with S3's status for its code.
func (w *responseWriter) finish() {
	if w.errBody == nil {
		if w.code == 0 {
			w.WriteHeader(http.StatusOK)
		}
		return
	}
	var e struct {
		Code, Message, Resource string
	}
	status := w.code
	body := w.errBody.Bytes()
	if xml.Unmarshal(body, &e) == nil && e.Code != "" {
		if status == http.StatusInternalServerError || statuses[e.Code] != 0 {
			status = statusOf(e.Code)
		}
		if e.Code == "InternalError" {
			e.Message = "We encountered an internal error. Please try again."
		}
		if m, ok := messages[e.Code]; ok && (e.Message == "" || e.Message == e.Code) {
			e.Message = m
		}
		extra := map[string]string{}
		switch e.Code {
		case "NoSuchKey", "KeyTooLongError":
			extra["Key"] = e.Resource
		case "NoSuchBucket", "BucketNotEmpty":
			extra["BucketName"] = e.Resource
		}
		if e.Resource == "" {
			extra = nil
		}
		body = errorDoc(e.Code, e.Message, w.requestID, extra)
		w.Header().Set("Content-Type", "application/xml")
	}
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(status)
	w.ResponseWriter.Write(body)
}

// ReadFrom lets the server send an object's file with sendfile.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if w.errBody != nil || w.keep || !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	if c, ok := src.(interface{ Reader() io.Reader }); ok {
		src = c.Reader()
	}
	return rf.ReadFrom(src)
}

// Flush lets large GETs stream.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && w.errBody == nil {
		f.Flush()
	}
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
