package s3api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/events/lineage"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/s3/bucketname"
	"github.com/berth/berth/s3/notify"
	"github.com/berth/berth/store"
)

// ValidBucketName is S3's rule for bucket names.
func ValidBucketName(name string) error { return bucketname.Validate(name) }

// pending is what a request will change, known before the library runs it.
type pending struct {
	bucket, key string
	event       string // S3's event name without "s3:"
	existed     bool   // for deletes: the object was there
	multiDelete bool
	// keys are the keys a DeleteObjects names, in its order (nil: its body
	// could not be read ahead).
	keys       []string
	post       bool
	dropBucket bool
	// records are the change's S3PendingChange records (none: none kept).
	records []kept
}

// kept is one S3PendingChange written: its key and generation.
type kept struct {
	key string
	gen uint64
}

// who made a request: its id and access key.
type who struct{ requestID, principal string }

// Bounds on what before reads ahead of the library: a DeleteObjects body
// (1,000 keys of up to 1,024 bytes, escaped), and the memory of a POST
// upload's form (the library's own bound; the rest goes to temporary
// files).
const (
	maxDeleteBody = 8 << 20
	postMemory    = 24 << 20
)

// before finds the change a request makes, if it is one S3 notifies of (or
// a bucket's deletion, which forgets its configuration).
func (s *Server) before(r *http.Request, by who, bucket, key string, q url.Values) *pending {
	if bucket == "" {
		return nil
	}
	_, uploadID := q["uploadId"]
	_, uploads := q["uploads"]
	switch {
	case key == "" && r.Method == http.MethodDelete && len(q) == 0:
		return &pending{bucket: bucket, dropBucket: true}
	case key == "" && r.Method == http.MethodPost:
		if _, ok := q["delete"]; ok {
			return s.keep(r, by, &pending{bucket: bucket, event: "ObjectRemoved:Delete", multiDelete: true, keys: deleteKeys(r)})
		}
		// A POST upload's key is in its form, read here before the
		// library reads it (it finds the form parsed).
		p := &pending{bucket: bucket, event: "ObjectCreated:Post", post: true}
		if r.ParseMultipartForm(postMemory) != nil || len(r.MultipartForm.Value["key"]) != 1 {
			return p // the library refuses it
		}
		p.key = r.MultipartForm.Value["key"][0]
		return s.keep(r, by, p)
	case key == "":
		return nil
	case r.Method == http.MethodPut && !uploadID:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return s.keep(r, by, &pending{bucket: bucket, key: key, event: "ObjectCreated:Copy"})
		}
		return s.keep(r, by, &pending{bucket: bucket, key: key, event: "ObjectCreated:Put"})
	case r.Method == http.MethodPost && uploadID:
		return s.keep(r, by, &pending{bucket: bucket, key: key, event: "ObjectCreated:CompleteMultipartUpload"})
	case r.Method == http.MethodDelete && !uploadID && !uploads:
		return s.keep(r, by, &pending{bucket: bucket, key: key, event: "ObjectRemoved:Delete"})
	}
	return nil
}

// deleteKeys reads the keys a DeleteObjects names (nil when its body is
// not a delete request within maxDeleteBody) and leaves the body to be
// read again, errors included.
func deleteKeys(r *http.Request) []string {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, io.LimitReader(r.Body, maxDeleteBody+1))
	rest := io.Reader(r.Body)
	if err != nil {
		rest = failing{err}
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf.Bytes()), rest), r.Body}
	var in gofakes3.DeleteRequest
	if err != nil || buf.Len() > maxDeleteBody || xml.Unmarshal(buf.Bytes(), &in) != nil {
		return nil
	}
	keys := make([]string, 0, len(in.Objects))
	for _, o := range in.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

// keep writes the change to the objects of a bucket with notifications in
// the store before it is made (one S3PendingChange per object: the key of a
// PUT, copy, upload or DeleteObject, each key of a DeleteObjects that is
// there to delete, all in one store write), so that a crash between the
// objects' change and their events' queueing loses no event: Recover sends
// them at the next start. The request's sender has not been answered yet,
// so a change whose records cannot be written is still made, with a
// warning.
func (s *Server) keep(r *http.Request, by who, p *pending) *pending {
	keys := p.keys
	if !p.multiDelete {
		_, _, p.existed = s.backend.Stat(p.bucket, p.key)
		keys = []string{p.key}
	}
	conf, ok, err := s.notes.Get(p.bucket)
	if err != nil || !ok || (len(conf.Value.GetLambdaFunctionConfigurations()) == 0 && !conf.Value.GetEventBridge()) {
		return p
	}
	at := s.at()
	var writes []*berthv1.DocumentWrite
	var records []kept
	seen := map[string]bool{}
	for _, k := range keys {
		_, etag, existed := s.backend.Stat(p.bucket, k)
		if p.multiDelete && (!existed || seen[k]) {
			continue // nothing to delete: no event to recover
		}
		seen[k] = true
		rec := &berthv1.S3PendingChange{Bucket: p.bucket, Key: k, EventName: p.event, Existed: existed, Etag: etag,
			RequestId: by.requestID, Principal: by.principal, SourceIp: sourceIP(r), TraceHeader: r.Header.Get(lineage.Header), At: at}
		key := fmt.Sprintf("%020d-%s", s.cfg.Now().UnixNano(), newEventID())
		w, err := s.pendings.PutWrite(key, rec, 0)
		if err != nil {
			s.cfg.Logger.Warn("s3: the change's pending record (its events are lost if berth stops before they are queued)",
				"bucket", p.bucket, "key", k, "err", err)
			return p
		}
		writes = append(writes, w)
		records = append(records, kept{key: key})
	}
	if len(writes) == 0 {
		return p
	}
	docs, err := s.cfg.Store.WriteDocuments(r.Context(), at, writes...)
	if err != nil {
		s.cfg.Logger.Warn("s3: the change's pending records (its events are lost if berth stops before they are queued)",
			"bucket", p.bucket, "key", p.key, "keys", len(writes), "err", err)
		return p
	}
	for i, d := range docs {
		records[i].gen = d.GetGeneration()
	}
	p.records = records
	return p
}

// settle forgets a change's pending records: its events are queued, or the
// change was not made.
func (s *Server) settle(ctx context.Context, p *pending) {
	if p == nil || len(p.records) == 0 {
		return
	}
	writes := make([]*berthv1.DocumentWrite, 0, len(p.records))
	for _, k := range p.records {
		writes = append(writes, s.pendings.DeleteWrite(k.key, k.gen))
	}
	if _, err := s.cfg.Store.WriteDocuments(context.WithoutCancel(ctx), s.at(), writes...); err != nil {
		s.cfg.Logger.Warn("s3: forget a change's pending records (its events may be sent again at the next start)",
			"bucket", p.bucket, "key", p.key, "keys", len(writes), "err", err)
	}
}

// Recover sends the events of the changes a crash left pending (each
// S3PendingChange written before this server started): a created object
// whose ETag is not the one before the change, a deleted object no longer
// there. An object rewritten with the same bytes cannot be told from one
// the crash kept from being written; its event is not sent. Events may be
// sent twice (a crash after queueing, before the record's deletion): S3's
// notifications are at least once.
func (s *Server) Recover(ctx context.Context) error {
	var left []store.Stored[*berthv1.S3PendingChange]
	if err := s.pendings.List("", "", func(r store.Stored[*berthv1.S3PendingChange]) bool {
		if r.Value.GetAt() < s.started {
			left = append(left, r)
		}
		return true
	}); err != nil {
		return err
	}
	for _, r := range left {
		v := r.Value
		c := notify.Change{EventName: v.GetEventName(), Bucket: v.GetBucket(), Key: v.GetKey(),
			Time: time.Unix(0, int64(v.GetAt()*1e9)).UTC(), Sequencer: s.sequencer(), RequestID: v.GetRequestId(),
			SourceIP: v.GetSourceIp(), Principal: v.GetPrincipal(), Region: s.cfg.ARNs.Region, Account: s.cfg.ARNs.Account}
		size, etag, exists := s.backend.Stat(v.GetBucket(), v.GetKey())
		happened := false
		if c.Created() {
			happened = exists && (!v.GetExisted() || etag != v.GetEtag())
			c.Size, c.ETag = size, etag
		} else {
			happened = v.GetExisted() && !exists
		}
		if conf, ok, err := s.notes.Get(v.GetBucket()); err == nil && ok && happened {
			s.cfg.Logger.Info("s3: sending the events of a change a restart cut off", "bucket", v.GetBucket(), "key", v.GetKey(), "event", v.GetEventName())
			s.deliver(ctx, conf.Value, c, v.GetTraceHeader())
		}
		if err := s.pendings.Delete(ctx, s.at(), r.Key, r.Generation); err != nil {
			return err
		}
	}
	return nil
}

// after sends the events of a change that succeeded.
func (s *Server) after(r *http.Request, w *responseWriter, sig awsapi.Signing, p *pending) {
	ctx := context.WithoutCancel(r.Context())
	defer s.settle(ctx, p)
	if p.dropBucket {
		if err := s.forget(ctx, p.bucket); err != nil {
			s.cfg.Logger.Warn("s3: forget a deleted bucket's notifications", "bucket", p.bucket, "err", err)
		}
		return
	}
	conf, ok, err := s.notes.Get(p.bucket)
	if err != nil {
		s.cfg.Logger.Warn("s3: read notifications", "bucket", p.bucket, "err", err)
		return
	}
	if !ok || (len(conf.Value.GetLambdaFunctionConfigurations()) == 0 && !conf.Value.GetEventBridge()) {
		return
	}
	var keys []string
	switch {
	case p.multiDelete:
		// The keys the request named but those the result says failed
		// (a Quiet result lists no others); the result's, when the
		// request's could not be read ahead.
		var res struct {
			Deleted []struct{ Key string } `xml:"Deleted"`
			Error   []struct{ Key string } `xml:"Error"`
		}
		if xml.Unmarshal(w.kept.Bytes(), &res) == nil {
			failed := map[string]bool{}
			for _, e := range res.Error {
				failed[e.Key] = true
			}
			for _, k := range p.keys {
				if !failed[k] {
					keys = append(keys, k)
				}
			}
			if p.keys == nil {
				for _, d := range res.Deleted {
					keys = append(keys, d.Key)
				}
			}
		}
	case p.post:
		if p.key != "" {
			keys = []string{p.key}
		}
	case p.event == "ObjectRemoved:Delete" && !p.existed:
	default:
		keys = []string{p.key}
	}
	for _, key := range keys {
		c := notify.Change{EventName: p.event, Bucket: p.bucket, Key: key, Time: s.cfg.Now(),
			Sequencer: s.sequencer(), RequestID: w.requestID, HostID: w.Header().Get("x-amz-id-2"),
			SourceIP: sourceIP(r), Principal: sig.AccessKeyID, Region: s.cfg.ARNs.Region, Account: s.cfg.ARNs.Account}
		if c.Created() {
			size, etag, ok := s.backend.Stat(p.bucket, key)
			if !ok {
				continue // deleted meanwhile
			}
			c.Size, c.ETag = size, etag
		}
		s.deliver(ctx, conf.Value, c, r.Header.Get(lineage.Header))
	}
}

// deliver invokes the functions whose configurations match the change and
// appends its EventBridge event when the bucket sends them. trace is the
// X-Amzn-Trace-Id of the request that made the change, kept with both: a
// function's call carries its invocation's lineage, which Lambda counts to
// stop loops.
func (s *Server) deliver(ctx context.Context, conf *berthv1.S3BucketNotification, c notify.Change, trace string) {
	for _, l := range notify.Matches(conf, c.EventName, c.Key) {
		if s.cfg.Events == nil {
			s.cfg.Logger.Warn("s3: a notification to a function with no Lambda to invoke it", "bucket", c.Bucket, "function", l.GetLambdaFunctionArn())
			continue
		}
		err := s.cfg.Events.InvokeEvent(ctx, invoke.EventRequest{Function: l.GetLambdaFunctionArn(), Payload: notify.LambdaEvent(c, l.GetId()),
			Principal: "s3.amazonaws.com", SourceArn: notify.BucketARN(c.Bucket), SourceAccount: s.cfg.ARNs.Account,
			TraceHeader: trace})
		if err != nil {
			s.cfg.Logger.Warn("s3: notification not queued", "bucket", c.Bucket, "key", c.Key, "event", c.EventName,
				"function", l.GetLambdaFunctionArn(), "err", err)
		}
	}
	if conf.GetEventBridge() {
		ev := notify.EventBridgeEvent(c, newEventID())
		ev.TraceHeader = trace
		if _, err := s.cfg.Store.Apply(ctx, &berthv1.Command{At: ev.GetTime(),
			Change: &berthv1.Command_AppendEventLog{AppendEventLog: &berthv1.AppendEventLogCommand{Event: ev}}}); err != nil {
			s.cfg.Logger.Warn("s3: the event log", "bucket", c.Bucket, "key", c.Key, "err", err)
		}
	}
}

func (s *Server) sequencer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := uint64(s.cfg.Now().UnixNano())
	if n <= s.seq {
		n = s.seq + 1
	}
	s.seq = n
	return notify.Sequencer(n)
}

func sourceIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func (s *Server) forget(ctx context.Context, bucket string) error {
	old, ok, err := s.notes.Get(bucket)
	if err != nil || !ok {
		return err
	}
	return s.notes.Delete(ctx, s.at(), bucket, old.Generation)
}

func (s *Server) at() float64 { return float64(s.cfg.Now().UnixNano()) / 1e9 }

// notification serves Get/PutBucketNotificationConfiguration.
func (s *Server) notification(w http.ResponseWriter, r *http.Request, bucket string) {
	if ok, _ := s.backend.BucketExists(bucket); !ok {
		writeError(w, "NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist", map[string]string{"BucketName": bucket})
		return
	}
	switch r.Method {
	case http.MethodGet:
		conf, ok, err := s.notes.Get(bucket)
		if err != nil {
			s.internal(w, "read notifications", err)
			return
		}
		v := &berthv1.S3BucketNotification{}
		if ok {
			v = conf.Value
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write(notify.Render(v))
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeBodyError(w, err)
			return
		}
		conf, nerr := notify.Parse(bucket, body)
		if nerr == nil && !strings.EqualFold(r.Header.Get("X-Amz-Skip-Destination-Validation"), "true") {
			nerr = s.checkDestinations(r.Context(), bucket, conf)
		}
		if nerr != nil {
			extra := map[string]string{}
			for i, a := range nerr.Arguments {
				if len(nerr.Arguments) == 1 && nerr.Message != "Unable to validate the following destination configurations" {
					extra["ArgumentName"], extra["ArgumentValue"] = a[0], a[1]
				} else {
					extra[fmt.Sprintf("ArgumentName%d", i+1)], extra[fmt.Sprintf("ArgumentValue%d", i+1)] = a[0], a[1]
				}
			}
			writeError(w, nerr.Code, http.StatusBadRequest, nerr.Message, extra)
			return
		}
		if _, err := s.notes.Update(r.Context(), s.at(), bucket, func(*berthv1.S3BucketNotification, bool) (*berthv1.S3BucketNotification, error) {
			return conf, nil
		}); err != nil {
			s.internal(w, "store notifications", err)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, "MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.", nil)
	}
}

// checkDestinations asks Lambda whether S3 may invoke each function the
// configuration names; every one it may not is named in S3's refusal.
func (s *Server) checkDestinations(ctx context.Context, bucket string, conf *berthv1.S3BucketNotification) *notify.Error {
	failed := map[string]string{}
	for _, fn := range notify.Functions(conf) {
		if s.cfg.Events == nil {
			failed[fn] = "Not authorized to invoke function [" + fn + "]"
			continue
		}
		err := s.cfg.Events.CheckPermission(ctx, invoke.EventRequest{Function: fn, Principal: "s3.amazonaws.com",
			SourceArn: notify.BucketARN(bucket), SourceAccount: s.cfg.ARNs.Account})
		if err != nil {
			failed[fn] = "Not authorized to invoke function [" + fn + "]"
			if e, ok := err.(*apierr.Error); ok && e.Class != apierr.NotFound && e.Class != apierr.PermissionDenied {
				s.cfg.Logger.Warn("s3: checking a notification's function", "function", fn, "err", err)
			}
		}
	}
	if len(failed) > 0 {
		return notify.Unvalidated(failed)
	}
	return nil
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.cfg.Logger.Error("s3: "+what, "err", err)
	writeError(w, "InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.", nil)
}

// newEventID is a random (version 4) UUID, as EventBridge's event ids are.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
