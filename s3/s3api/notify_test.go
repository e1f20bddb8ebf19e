package s3api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const fn = "arn:aws:lambda:us-east-1:000000000000:function:thumb"

// Notifications through the SDK: a missing function is refused as S3
// refuses it; each change matching a configuration is queued for the
// function in S3's event shape; EventBridge gets S3's own events.
func TestSDKNotifications(t *testing.T) {
	e := serve(t, t.TempDir())
	c := e.client(t, false)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	conf := &types.NotificationConfiguration{
		LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
			Id: aws.String("thumbs"), LambdaFunctionArn: aws.String(fn),
			Events: []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"},
			Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{
				{Name: types.FilterRuleNamePrefix, Value: aws.String("in/")}, {Name: types.FilterRuleNameSuffix, Value: aws.String(".png")}}}},
		}},
		EventBridgeConfiguration: &types.EventBridgeConfiguration{},
	}
	_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"), NotificationConfiguration: conf})
	if code(err) != "InvalidArgument" || !strings.Contains(err.Error(), "Unable to validate the following destination configurations") {
		t.Fatalf("a missing function: %v", err)
	}
	e.lambda.functions[fn] = true
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"), NotificationConfiguration: conf}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("photos")})
	if err != nil || len(got.LambdaFunctionConfigurations) != 1 || got.EventBridgeConfiguration == nil ||
		aws.ToString(got.LambdaFunctionConfigurations[0].LambdaFunctionArn) != fn || len(got.LambdaFunctionConfigurations[0].Filter.Key.FilterRules) != 2 {
		t.Fatalf("get: %v %+v", err, got)
	}
	for _, k := range []string{"in/my photo.png", "in/notes.txt", "out/x.png"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(k), Body: strings.NewReader("png!")}); err != nil {
			t.Fatal(err)
		}
	}
	invoked := e.lambda.take()
	if len(invoked) != 1 {
		t.Fatalf("%d invocations, want the one matching key", len(invoked))
	}
	req := invoked[0]
	if req.Principal != "s3.amazonaws.com" || req.SourceArn != "arn:aws:s3:::photos" || req.Function != fn {
		t.Fatalf("request: %+v", req)
	}
	var ev events.S3Event
	if err := json.Unmarshal(req.Payload, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("payload %s: %v", req.Payload, err)
	}
	r := ev.Records[0]
	if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.EventName != "ObjectCreated:Put" || r.S3.Bucket.Name != "photos" ||
		r.S3.Bucket.Arn != "arn:aws:s3:::photos" || r.S3.Object.Key != "in/my+photo.png" || r.S3.Object.URLDecodedKey != "in/my photo.png" ||
		r.S3.Object.Size != 4 || r.S3.Object.ETag == "" || r.S3.Object.Sequencer == "" || r.S3.ConfigurationID != "thumbs" {
		t.Fatalf("record: %+v", r)
	}
	// Copy, delete: their own event names.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/copy.png"), CopySource: aws.String("photos/out/x.png")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("in/copy.png")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("photos"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("in/my photo.png")}, {Key: aws.String("in/notes.txt")}}}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	var seqs []string
	for _, req := range e.lambda.take() {
		var ev events.S3Event
		if err := json.Unmarshal(req.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		names = append(names, ev.Records[0].EventName+" "+ev.Records[0].S3.Object.URLDecodedKey)
		seqs = append(seqs, ev.Records[0].S3.Object.Sequencer)
	}
	if strings.Join(names, ", ") != "ObjectCreated:Copy in/copy.png, ObjectRemoved:Delete in/copy.png, ObjectRemoved:Delete in/my photo.png" {
		t.Fatalf("events: %v", names)
	}
	if !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Fatalf("sequencers do not grow: %v", seqs)
	}
	// EventBridge: every change of the bucket, in EventBridge's S3 shape.
	log, err := e.store.EventLog(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range log {
		kinds = append(kinds, ev.GetDetailType())
		if ev.GetSource() != "aws.s3" || len(ev.GetResources()) != 1 || ev.GetResources()[0] != "arn:aws:s3:::photos" {
			t.Fatalf("event %+v", ev)
		}
	}
	if strings.Join(kinds, ",") != "Object Created,Object Created,Object Created,Object Created,Object Deleted,Object Deleted,Object Deleted" {
		t.Fatalf("event log: %v", kinds)
	}
	var detail struct {
		Bucket struct{ Name string }
		Object struct {
			Key  string
			Size int64
		}
		Reason string
	}
	if err := json.Unmarshal([]byte(log[0].GetDetail()), &detail); err != nil || detail.Bucket.Name != "photos" ||
		detail.Object.Key != "in/my photo.png" || detail.Object.Size != 4 || detail.Reason != "PutObject" {
		t.Fatalf("detail %s: %v", log[0].GetDetail(), err)
	}
	// A deleted bucket forgets its configuration.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("out/x.png")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.store.Document("s3-notifications", "photos"); ok || err != nil {
		t.Fatalf("a deleted bucket's configuration is kept: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatal(err)
	}
	again, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("photos")})
	if err != nil || len(again.LambdaFunctionConfigurations) != 0 || again.EventBridgeConfiguration != nil {
		t.Fatalf("a new bucket of the name: %v %+v", err, again)
	}
}
