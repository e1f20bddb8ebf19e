package s3api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/store"
)

func pendings(e *env) store.Collection[*berthv1.S3PendingChange] {
	return store.Collection[*berthv1.S3PendingChange]{Store: e.store, Name: "s3-pending",
		New: func() *berthv1.S3PendingChange { return &berthv1.S3PendingChange{} }}
}

func countPending(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	if err := pendings(e).List("", "", func(store.Stored[*berthv1.S3PendingChange]) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// The crash between an object's write and its events' queueing: a change
// to a bucket with notifications is written down before it is made and
// forgotten once its events are queued; what a crash left is sent at the
// next start when the object shows the change happened, and not otherwise.
func TestPendingChangesRecovered(t *testing.T) {
	e := serve(t, t.TempDir())
	c := e.client(t, false)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	e.lambda.functions[fn] = true
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"),
		NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String(fn), Events: []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}}}}}); err != nil {
		t.Fatal(err)
	}
	// Changes that went through leave nothing pending, failed ones neither.
	for _, k := range []string{"same.png", "gone.png", "changed.png"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(k), Body: strings.NewReader("v1")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("bad.png"), Body: strings.NewReader("v1"),
		ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")}); err == nil {
		t.Fatal("a wrong Content-MD5 was taken")
	}
	if n := len(e.lambda.take()); n != 3 || countPending(t, e) != 0 {
		t.Fatalf("%d events, %d pending; want 3 and none", n, countPending(t, e))
	}

	// What a crash leaves: the records written before four changes, of
	// which three were made on disk (a new object, an object rewritten, a
	// deletion) and one was not (same.png's rewrite never landed).
	b := e.s3.Backend()
	etag := func(key string) string {
		_, et, _ := b.Stat("photos", key)
		return et
	}
	before := float64(time.Now().Add(-time.Minute).UnixNano()) / 1e9
	left := []*berthv1.S3PendingChange{
		{Bucket: "photos", Key: "new.png", EventName: "ObjectCreated:Put", At: before},
		{Bucket: "photos", Key: "changed.png", EventName: "ObjectCreated:Put", Existed: true, Etag: etag("changed.png"), At: before},
		{Bucket: "photos", Key: "same.png", EventName: "ObjectCreated:Put", Existed: true, Etag: etag("same.png"), At: before},
		{Bucket: "photos", Key: "gone.png", EventName: "ObjectRemoved:Delete", Existed: true, At: before},
		{Bucket: "photos", Key: "never.png", EventName: "ObjectCreated:Put", At: before},
	}
	for i, p := range left {
		if _, err := pendings(e).Put(ctx, before, "k"+string(rune('a'+i)), p, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"new.png", "changed.png"} {
		if _, err := b.PutObject("photos", k, nil, strings.NewReader("v2"), 2, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.DeleteObject("photos", "gone.png"); err != nil {
		t.Fatal(err)
	}

	if err := e.s3.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, req := range e.lambda.take() {
		var ev events.S3Event
		if err := json.Unmarshal(req.Payload, &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("payload %s: %v", req.Payload, err)
		}
		got[ev.Records[0].S3.Object.Key] = ev.Records[0].EventName
	}
	want := map[string]string{"new.png": "ObjectCreated:Put", "changed.png": "ObjectCreated:Put", "gone.png": "ObjectRemoved:Delete"}
	if len(got) != len(want) {
		t.Fatalf("recovered events %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("recovered events %v; want %v", got, want)
		}
	}
	if n := countPending(t, e); n != 0 {
		t.Fatalf("%d records left after recovery", n)
	}
}

// DeleteObjects and POST uploads are written down before they are made as
// the other changes are: one record per key a DeleteObjects deletes (the
// keys that are there), one for a POST upload's key. What a crash left
// between the change and the queueing of its events (the records as they
// are while the first event is queued) is sent at the next start when the
// objects show the change.
func TestPendingDeleteObjectsAndPostRecovered(t *testing.T) {
	dir := t.TempDir()
	e := serve(t, dir)
	c := e.client(t, false)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	e.lambda.functions[fn] = true
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"),
		NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: aws.String(fn), Events: []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a.png", "b.png", "c.png"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(k), Body: strings.NewReader("v1")}); err != nil {
			t.Fatal(err)
		}
	}
	e.lambda.take()

	// The records there while a request's first event is queued.
	var seen []store.Stored[*berthv1.S3PendingChange]
	watch := func() {
		seen = nil
		first := true
		e.lambda.mu.Lock()
		e.lambda.during = func() {
			if !first {
				return
			}
			first = false
			if err := pendings(e).List("", "", func(r store.Stored[*berthv1.S3PendingChange]) bool {
				seen = append(seen, r)
				return true
			}); err != nil {
				t.Error(err)
			}
		}
		e.lambda.mu.Unlock()
	}
	queued := func() map[string]string {
		got := map[string]string{}
		for _, req := range e.lambda.take() {
			var ev events.S3Event
			if err := json.Unmarshal(req.Payload, &ev); err != nil || len(ev.Records) != 1 {
				t.Fatalf("payload %s: %v", req.Payload, err)
			}
			got[ev.Records[0].S3.Object.Key] = ev.Records[0].EventName
		}
		return got
	}
	taken := func() []store.Stored[*berthv1.S3PendingChange] {
		e.lambda.mu.Lock() // after the server's append under it
		defer e.lambda.mu.Unlock()
		return seen
	}
	recorded := func(rs []store.Stored[*berthv1.S3PendingChange]) map[string]string {
		out := map[string]string{}
		for _, r := range rs {
			out[r.Value.GetKey()] = fmt.Sprintf("%s existed=%v", r.Value.GetEventName(), r.Value.GetExisted())
		}
		return out
	}

	// DeleteObjects: a record for each key there to delete, none for a
	// key that is not; each key's event; nothing left after.
	watch()
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("photos"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a.png")}, {Key: aws.String("b.png")}, {Key: aws.String("never.png")}}}}); err != nil {
		t.Fatal(err)
	}
	deleted := taken()
	if got, want := recorded(deleted), map[string]string{"a.png": "ObjectRemoved:Delete existed=true", "b.png": "ObjectRemoved:Delete existed=true"}; !maps.Equal(got, want) {
		t.Fatalf("DeleteObjects' records %v; want %v", got, want)
	}
	if got, want := queued(), map[string]string{"a.png": "ObjectRemoved:Delete", "b.png": "ObjectRemoved:Delete", "never.png": "ObjectRemoved:Delete"}; !maps.Equal(got, want) {
		t.Fatalf("DeleteObjects' events %v; want %v", got, want)
	}
	// Quiet: the result lists no deleted keys; their events are sent.
	watch()
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("photos"), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("c.png")}}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := recorded(taken()), map[string]string{"c.png": "ObjectRemoved:Delete existed=true"}; !maps.Equal(got, want) {
		t.Fatalf("a quiet DeleteObjects' records %v; want %v", got, want)
	}
	if got, want := queued(), map[string]string{"c.png": "ObjectRemoved:Delete"}; !maps.Equal(got, want) {
		t.Fatalf("a quiet DeleteObjects' events %v; want %v", got, want)
	}

	// A POST upload (a form with the key and the file, signed as any
	// request): a record for its key before it is made.
	watch()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("key", "posted.png")
	fw, _ := mw.CreateFormFile("file", "posted.png")
	fw.Write([]byte("posted"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/photos", bytes.NewReader(form.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Amz-Content-Sha256", awsapi.UnsignedPayload)
	signForTest(t, req)
	hc := e.srv.Client()
	t.Cleanup(hc.CloseIdleConnections)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST upload: %s", resp.Status)
	}
	posted := taken()
	if got, want := recorded(posted), map[string]string{"posted.png": "ObjectCreated:Post existed=false"}; !maps.Equal(got, want) {
		t.Fatalf("the POST upload's records %v; want %v", got, want)
	}
	if got, want := queued(), map[string]string{"posted.png": "ObjectCreated:Post"}; !maps.Equal(got, want) {
		t.Fatalf("the POST upload's events %v; want %v", got, want)
	}
	if n := countPending(t, e); n != 0 {
		t.Fatalf("%d records left after the requests", n)
	}

	// A crash while the first events were queued: the records stay. At the
	// next start b.png is there again (its deletion cannot be told from
	// one that did not happen): a.png's and posted.png's events are sent.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("b.png"), Body: strings.NewReader("v2")}); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	e.store.Close()
	e = serve(t, dir)
	for _, r := range append(deleted, posted...) {
		if _, err := pendings(e).Put(ctx, r.Value.GetAt(), r.Key, r.Value, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.lambda.functions[fn] = true
	if err := e.s3.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := queued(), map[string]string{"a.png": "ObjectRemoved:Delete", "posted.png": "ObjectCreated:Post"}; !maps.Equal(got, want) {
		t.Fatalf("recovered events %v; want %v", got, want)
	}
	if n := countPending(t, e); n != 0 {
		t.Fatalf("%d records left after recovery", n)
	}
}
