package eventsapi_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/lambda/invoke"
)

// clock is a test's clock: it moves only when the test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 7, 12, 0, 30, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// lambda is an invoke.EventSource that records what it is asked to invoke,
// failing while fail is set; functions lists the functions that exist.
type lambda struct {
	mu        sync.Mutex
	calls     []invoke.EventRequest
	fail      bool
	functions map[string]bool
}

func (l *lambda) CheckPermission(ctx context.Context, req invoke.EventRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.functions != nil && !l.functions[req.Function] {
		return apierr.New(apierr.NotFound, "", "Function not found: %s", req.Function)
	}
	return nil
}

func (l *lambda) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errors.New("function failed to take the event")
	}
	l.calls = append(l.calls, req)
	return nil
}

func (l *lambda) Calls() []invoke.EventRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]invoke.EventRequest(nil), l.calls...)
}

func sdk(t *testing.T, cp *controlplane.ControlPlane) *eventbridge.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func message(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorMessage()
	}
	return ""
}

const fn = "arn:aws:lambda:us-east-1:000000000000:function:thumbs"
