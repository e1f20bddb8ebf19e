package s3api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
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
