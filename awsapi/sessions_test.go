package awsapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"google.golang.org/grpc"

	"github.com/berth/berth/awsapi"
)

// fakeSessions accepts one token with one temporary key.
type fakeSessions struct{}

const (
	sessionKeyID  = "ASIATESTTESTTESTTEST"
	sessionSecret = "sessionsecretsessionsecretsessionsecret0"
	goodToken     = "good-token"
)

func (fakeSessions) CheckSession(accessKeyID, token string) (awsapi.Session, string, error) {
	switch {
	case token == "expired-token":
		return awsapi.Session{}, "", fmt.Errorf("%w: at noon", awsapi.ErrTokenExpired)
	case token == "broken-store":
		return awsapi.Session{}, "", errors.New("the store is closed")
	case token != goodToken || accessKeyID != sessionKeyID:
		return awsapi.Session{}, "", awsapi.ErrTokenInvalid
	}
	return awsapi.Session{RoleARN: "arn:aws:iam::000000000000:role/app", Subject: "arn:aws:ecs:us-east-1:000000000000:task/default/abc"}, sessionSecret, nil
}

// syncBuffer is a log destination the server's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSessionCredentials: a request signed with temporary credentials and
// their session token acts as the session's role (in the context and the
// audit log line); an expired token is ExpiredTokenException, a foreign one
// UnrecognizedClientException (InvalidClientTokenId in the query
// protocol), both 403; berth's own keys still work, with or without a token.
func TestSessionCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []awsapi.Caller
	logs := &syncBuffer{}
	fd := awsapi.New(awsapi.Keys{key.AccessKeyID: key.SecretAccessKey}, awsapi.Options{
		Sessions: fakeSessions{},
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Interceptor: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			c, _ := awsapi.CallerFrom(ctx)
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
			return req, nil // the request echoed, whoever calls
		},
	})
	for _, s := range []awsapi.Service{
		{Name: "json11", SigningName: "json11", Protocols: []awsapi.Protocol{awsapi.JSON11}, TargetPrefix: "EchoV11"},
		{Name: "query", SigningName: "query", Protocols: []awsapi.Protocol{awsapi.Query}},
	} {
		s.Desc, s.Impl, s.Exception = &echoDesc, struct{}{}, exceptions
		if err := fd.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(fd)
	defer srv.Close()

	sendAs := func(creds aws.Credentials, service string) (*http.Response, []byte) {
		t.Helper()
		var req *http.Request
		var body []byte
		if service == "query" {
			body = []byte(url.Values{"Action": {"Echo"}, "taskDefinition": {"web"}}.Encode())
			req = post(t, srv.URL+"/", "application/x-www-form-urlencoded", nil, body)
		} else {
			body = []byte(`{"taskDefinition":"web"}`)
			req = post(t, srv.URL+"/", "application/x-amz-json-1.1", map[string]string{"X-Amz-Target": "EchoV11.Echo"}, body)
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, fmt.Sprintf("%x", sha(body)), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return send(t, req, "", body, time.Now())
	}
	session := func(token string) aws.Credentials {
		return aws.Credentials{AccessKeyID: sessionKeyID, SecretAccessKey: sessionSecret, SessionToken: token}
	}

	resp, b := sendAs(session(goodToken), "json11")
	if resp.StatusCode != 200 {
		t.Fatalf("session credentials: %d %s", resp.StatusCode, b)
	}
	mu.Lock()
	got := seen[len(seen)-1]
	mu.Unlock()
	if got.AccessKeyID != sessionKeyID || got.Session.RoleARN != "arn:aws:iam::000000000000:role/app" || !strings.HasSuffix(got.Session.Subject, "task/default/abc") {
		t.Errorf("caller = %+v", got)
	}
	if l := logs.String(); !strings.Contains(l, "role=arn:aws:iam::000000000000:role/app") || !strings.Contains(l, "subject=arn:aws:ecs:") || !strings.Contains(l, "operation=Echo") {
		t.Errorf("audit log line lacks the role: %s", l)
	}
	if strings.Contains(logs.String(), sessionSecret) || strings.Contains(logs.String(), goodToken) {
		t.Error("the log holds the secret or the token")
	}

	resp, b = sendAs(session("expired-token"), "json11")
	wantJSONError(t, resp, b, 403, "ExpiredTokenException", "The security token included in the request is expired")
	resp, b = sendAs(session("forged"), "json11")
	wantJSONError(t, resp, b, 403, "UnrecognizedClientException", "The security token included in the request is invalid")
	resp, b = sendAs(aws.Credentials{AccessKeyID: sessionKeyID, SecretAccessKey: sessionSecret}, "json11")
	wantJSONError(t, resp, b, 400, "UnrecognizedClientException", "unknown access key")
	resp, b = sendAs(session("broken-store"), "json11")
	wantJSONError(t, resp, b, 500, "InternalFailure", "cannot be checked")
	// The right token with another secret: the signature does not match.
	resp, b = sendAs(aws.Credentials{AccessKeyID: sessionKeyID, SecretAccessKey: "wrong", SessionToken: goodToken}, "json11")
	wantJSONError(t, resp, b, 400, "InvalidSignatureException", "signature")

	resp, b = sendAs(session("expired-token"), "query")
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>ExpiredToken</Code>")) {
		t.Errorf("query, expired: %d %s", resp.StatusCode, b)
	}
	resp, b = sendAs(session("forged"), "query")
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>InvalidClientTokenId</Code>")) {
		t.Errorf("query, foreign: %d %s", resp.StatusCode, b)
	}

	// berth's own key, with a token or without: the account, no role.
	for _, token := range []string{"", "anything"} {
		resp, b = sendAs(aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: token}, "json11")
		mu.Lock()
		got = seen[len(seen)-1]
		mu.Unlock()
		if resp.StatusCode != 200 || got.Session != (awsapi.Session{}) {
			t.Errorf("own key, token %q: %d %s, caller %+v", token, resp.StatusCode, b, got)
		}
	}
}
