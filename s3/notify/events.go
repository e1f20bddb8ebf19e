package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Change is one change to an object that S3 notifies of.
type Change struct {
	// EventName is S3's name without the "s3:" prefix:
	// "ObjectCreated:Put", "ObjectRemoved:Delete", ...
	EventName string
	Bucket    string
	Key       string
	// Size and ETag (without quotes) of a created object.
	Size      int64
	ETag      string
	Sequencer string
	Time      time.Time
	// RequestID, SourceIP and Principal are the request's.
	RequestID, HostID, SourceIP, Principal string
	Region, Account                        string
}

// BucketARN is S3's ARN of a bucket (no region or account).
func BucketARN(bucket string) string { return "arn:aws:s3:::" + bucket }

// Created says whether the change creates an object.
func (c Change) Created() bool { return strings.HasPrefix(c.EventName, "ObjectCreated:") }

// record is one of S3's event records (eventVersion 2.1), as
// aws-lambda-go's events.S3EventRecord decodes it.
type record struct {
	EventVersion      string            `json:"eventVersion"`
	EventSource       string            `json:"eventSource"`
	AWSRegion         string            `json:"awsRegion"`
	EventTime         string            `json:"eventTime"`
	EventName         string            `json:"eventName"`
	UserIdentity      principal         `json:"userIdentity"`
	RequestParameters map[string]string `json:"requestParameters"`
	ResponseElements  map[string]string `json:"responseElements"`
	S3                recordS3          `json:"s3"`
}

type principal struct {
	PrincipalID string `json:"principalId"`
}

type recordS3 struct {
	SchemaVersion   string `json:"s3SchemaVersion"`
	ConfigurationID string `json:"configurationId"`
	Bucket          struct {
		Name          string    `json:"name"`
		OwnerIdentity principal `json:"ownerIdentity"`
		ARN           string    `json:"arn"`
	} `json:"bucket"`
	Object recordObject `json:"object"`
}

type recordObject struct {
	Key       string `json:"key"`
	Size      *int64 `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	Sequencer string `json:"sequencer"`
}

// LambdaEvent is the document a function receives for a change matched by
// the configuration configID: {"Records": [one record]}.
func LambdaEvent(c Change, configID string) []byte {
	r := record{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: c.Region,
		EventTime: c.Time.UTC().Format("2006-01-02T15:04:05.000Z"), EventName: c.EventName,
		UserIdentity:      principal{PrincipalID: c.Principal},
		RequestParameters: map[string]string{"sourceIPAddress": c.SourceIP},
		ResponseElements:  map[string]string{"x-amz-request-id": c.RequestID, "x-amz-id-2": c.HostID},
	}
	r.S3.SchemaVersion, r.S3.ConfigurationID = "1.0", configID
	r.S3.Bucket.Name, r.S3.Bucket.ARN = c.Bucket, BucketARN(c.Bucket)
	r.S3.Bucket.OwnerIdentity = principal{PrincipalID: c.Principal}
	r.S3.Object = recordObject{Key: EventKey(c.Key), Sequencer: c.Sequencer}
	if c.Created() {
		size := c.Size
		r.S3.Object.Size, r.S3.Object.ETag = &size, c.ETag
	}
	b, _ := json.Marshal(struct {
		Records []record `json:"Records"`
	}{[]record{r}})
	return b
}

// EventBridge's S3 events: source and detail-types.
const (
	EventBridgeSource = "aws.s3"
	ObjectCreatedType = "Object Created"
	ObjectDeletedType = "Object Deleted"
)

// reasons of EventBridge's S3 events by S3 event name.
var reasons = map[string]string{
	"ObjectCreated:Put": "PutObject", "ObjectCreated:Post": "POST Object", "ObjectCreated:Copy": "CopyObject",
	"ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload", "ObjectRemoved:Delete": "DeleteObject",
}

// EventBridgeEvent is the change as EventBridge carries S3's events
// ("Object Created" / "Object Deleted", source aws.s3, the bucket's ARN as
// the resource), for berth's event log; id is the event's id.
func EventBridgeEvent(c Change, id string) *berthv1.EventLogRecord {
	type object struct {
		Key          string `json:"key"`
		Size         *int64 `json:"size,omitempty"`
		ETag         string `json:"etag,omitempty"`
		Sequencer    string `json:"sequencer"`
		DeletionType string `json:"-"`
	}
	detail := map[string]any{
		"version":           "0",
		"bucket":            map[string]string{"name": c.Bucket},
		"request-id":        c.RequestID,
		"requester":         c.Account,
		"source-ip-address": c.SourceIP,
		"reason":            reasons[c.EventName],
	}
	o := object{Key: c.Key, Sequencer: c.Sequencer}
	detailType := ObjectDeletedType
	if c.Created() {
		size := c.Size
		o.Size, o.ETag = &size, c.ETag
		detailType = ObjectCreatedType
	} else {
		detail["deletion-type"] = "Permanently Deleted"
	}
	detail["object"] = o
	b, _ := json.Marshal(detail)
	return &berthv1.EventLogRecord{
		Id: id, Source: EventBridgeSource, DetailType: detailType, Account: c.Account, Region: c.Region,
		Time: float64(c.Time.UnixNano()) / 1e9, Resources: []string{BucketARN(c.Bucket)}, Detail: string(b),
	}
}

// Sequencer is S3's sequencer of the nth change: hexadecimal, growing,
// comparable between events of one key as strings of equal length.
func Sequencer(n uint64) string { return fmt.Sprintf("%018X", n) }
