package s3api

import (
	"context"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/events/lineage"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/s3/bucketname"
	"github.com/berth/berth/s3/notify"
)

// ValidBucketName is S3's rule for bucket names.
func ValidBucketName(name string) error { return bucketname.Validate(name) }

// pending is what a request will change, known before the library runs it.
type pending struct {
	bucket, key string
	event       string // S3's event name without "s3:"
	existed     bool   // for deletes: the object was there
	multiDelete bool
	post        bool
	dropBucket  bool
}

// before finds the change a request makes, if it is one S3 notifies of (or
// a bucket's deletion, which forgets its configuration).
func (s *Server) before(r *http.Request, bucket, key string, q url.Values) *pending {
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
			return &pending{bucket: bucket, event: "ObjectRemoved:Delete", multiDelete: true}
		}
		return &pending{bucket: bucket, event: "ObjectCreated:Post", post: true}
	case key == "":
		return nil
	case r.Method == http.MethodPut && !uploadID:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return &pending{bucket: bucket, key: key, event: "ObjectCreated:Copy"}
		}
		return &pending{bucket: bucket, key: key, event: "ObjectCreated:Put"}
	case r.Method == http.MethodPost && uploadID:
		return &pending{bucket: bucket, key: key, event: "ObjectCreated:CompleteMultipartUpload"}
	case r.Method == http.MethodDelete && !uploadID && !uploads:
		_, _, ok := s.backend.Stat(bucket, key)
		return &pending{bucket: bucket, key: key, event: "ObjectRemoved:Delete", existed: ok}
	}
	return nil
}

// after sends the events of a change that succeeded.
func (s *Server) after(r *http.Request, w *responseWriter, sig awsapi.Signing, p *pending) {
	ctx := context.WithoutCancel(r.Context())
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
		var res struct {
			Deleted []struct{ Key string } `xml:"Deleted"`
		}
		if xml.Unmarshal(w.kept.Bytes(), &res) == nil {
			for _, d := range res.Deleted {
				keys = append(keys, d.Key)
			}
		}
	case p.post:
		if r.MultipartForm != nil && len(r.MultipartForm.Value["key"]) == 1 {
			keys = []string{r.MultipartForm.Value["key"][0]}
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
// X-Amzn-Trace-Id of the request that made the change: a function's call
// carries its invocation's lineage, which Lambda counts to stop loops.
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
