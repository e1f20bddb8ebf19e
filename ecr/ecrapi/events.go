package ecrapi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
)

// ECR's EventBridge event of a completed push: source and detail-type.
const (
	EventSource          = "aws.ecr"
	EventImageActionType = "ECR Image Action"
)

// ImagePushedEvent is ECR's "ECR Image Action" event of a completed push of
// digest to repository under tag, as EventBridge carries it: detail
// result SUCCESS, action-type PUSH, repository-name, image-digest and
// image-tag (left out for a push by digest, which names no tag), and no
// resources, as ECR sends it. It is pure; the caller appends it to the
// event log.
func ImagePushedEvent(n arn.Namer, repository, tag, digest string, at time.Time) *berthv1.EventLogRecord {
	detail := struct {
		Result         string `json:"result"`
		RepositoryName string `json:"repository-name"`
		ImageDigest    string `json:"image-digest"`
		ActionType     string `json:"action-type"`
		ImageTag       string `json:"image-tag,omitempty"`
	}{"SUCCESS", repository, digest, "PUSH", tag}
	b, _ := json.Marshal(detail) // strings only: never fails
	return &berthv1.EventLogRecord{
		Id: newEventID(), Source: EventSource, DetailType: EventImageActionType,
		Account: n.Account, Region: n.Region, Time: epoch(at), Detail: string(b),
	}
}

// newEventID is a random (version 4) UUID, as EventBridge's event ids are.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
