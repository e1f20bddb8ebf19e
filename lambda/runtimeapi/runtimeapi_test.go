package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runtime is a test's runtime: the calls a Lambda runtime makes.
type runtime struct {
	t    *testing.T
	base string
	cli  *http.Client
}

func newRuntime(t *testing.T, s *Server) *runtime {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &runtime{t: t, base: "http://" + s.Addr() + Prefix, cli: &http.Client{Transport: tr}}
}

func (r *runtime) next() (*http.Response, []byte) {
	r.t.Helper()
	resp, err := r.cli.Get(r.base + "invocation/next")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (r *runtime) post(path string, body []byte, hdr map[string]string) (int, map[string]string) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.cli.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

func start(t *testing.T) *Server {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type result struct {
	out Outcome
	err error
}

func invokeAsync(s *Server, ctx context.Context, inv Invocation) chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := s.Invoke(ctx, inv)
		ch <- result{out, err}
	}()
	return ch
}

func TestResponse(t *testing.T) {
	s := start(t)
	rt := newRuntime(t, s)
	deadline := time.UnixMilli(time.Now().Add(3 * time.Second).UnixMilli())
	ch := invokeAsync(s, context.Background(), Invocation{RequestID: "r1", Payload: []byte(`{"a":1}`), Deadline: deadline,
		FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST", TraceID: "Root=1-x", ClientContext: `{"custom":{}}`})
	resp, body := rt.next()
	select {
	case <-s.Ready():
	default:
		t.Error("Ready not closed after the first next")
	}
	if string(body) != `{"a":1}` {
		t.Errorf("payload %q", body)
	}
	for k, want := range map[string]string{
		"Lambda-Runtime-Aws-Request-Id":       "r1",
		"Lambda-Runtime-Deadline-Ms":          strings.TrimSpace(func() string { b, _ := json.Marshal(deadline.UnixMilli()); return string(b) }()),
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
		"Lambda-Runtime-Trace-Id":             "Root=1-x",
		"Lambda-Runtime-Client-Context":       `{"custom":{}}`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Another id is refused and does not end the invocation.
	if code, doc := rt.post("invocation/r2/response", []byte(`"x"`), nil); code != 400 || doc["errorType"] != "InvalidRequestID" {
		t.Errorf("response for another id: %d %v", code, doc)
	}
	if code, _ := rt.post("invocation/r1/response", []byte(`"ok"`), nil); code != 202 {
		t.Errorf("response: %d", code)
	}
	r := <-ch
	if r.err != nil || string(r.out.Payload) != `"ok"` || r.out.Error {
		t.Errorf("outcome %+v %v", r.out, r.err)
	}
	// A second response is refused.
	if code, doc := rt.post("invocation/r1/response", []byte(`"again"`), nil); code != 403 || doc["errorType"] != "InvalidStateTransition" {
		t.Errorf("second response: %d %v", code, doc)
	}
	if code, doc := rt.post("invocation/r1/error", []byte(`{}`), nil); code != 403 || doc["errorType"] != "InvalidStateTransition" {
		t.Errorf("error after response: %d %v", code, doc)
	}
	// The next invocation is not disturbed by the refused posts.
	ch = invokeAsync(s, context.Background(), Invocation{RequestID: "r3", Payload: []byte(`{}`), Deadline: deadline})
	if resp, _ := rt.next(); resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "r3" {
		t.Fatalf("next id %q", resp.Header.Get("Lambda-Runtime-Aws-Request-Id"))
	}
	if code, _ := rt.post("invocation/r3/response", []byte(`3`), nil); code != 202 {
		t.Errorf("response r3: %d", code)
	}
	if r := <-ch; string(r.out.Payload) != "3" {
		t.Errorf("r3 outcome %+v", r.out)
	}
}

func TestFunctionError(t *testing.T) {
	for _, tc := range []struct {
		name, body, header, wantType string
	}{
		{"document", `{"errorMessage":"boom","errorType":"MyError"}`, "", "MyError"},
		{"header wins", `{"errorMessage":"boom","errorType":"MyError"}`, "Unhandled", "Unhandled"},
		{"no document", ``, "Runtime.Custom", "Runtime.Custom"},
		{"nothing", ``, "", "Runtime.Unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			rt := newRuntime(t, s)
			ch := invokeAsync(s, context.Background(), Invocation{RequestID: "e1", Deadline: time.Now().Add(time.Minute)})
			rt.next()
			hdr := map[string]string{}
			if tc.header != "" {
				hdr["Lambda-Runtime-Function-Error-Type"] = tc.header
			}
			if code, _ := rt.post("invocation/e1/error", []byte(tc.body), hdr); code != 202 {
				t.Errorf("error post: %d", code)
			}
			r := <-ch
			var doc map[string]string
			if err := json.Unmarshal(r.out.Payload, &doc); err != nil || !r.out.Error || r.out.ErrorType != tc.wantType || doc["errorMessage"] == "" {
				t.Errorf("outcome %+v (%s) %v", r.out, r.out.Payload, err)
			}
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	s := start(t)
	rt := newRuntime(t, s)
	ch := invokeAsync(s, context.Background(), Invocation{RequestID: "big", Deadline: time.Now().Add(time.Minute)})
	rt.next()
	code, doc := rt.post("invocation/big/response", bytes.Repeat([]byte("a"), MaxResponse+1), nil)
	if code != 413 || doc["errorType"] != "RequestEntityTooLarge" {
		t.Errorf("too large: %d %v", code, doc)
	}
	r := <-ch
	if !r.out.Error || r.out.ErrorType != "Function.ResponseSizeTooLarge" || !strings.Contains(string(r.out.Payload), "6291556") {
		t.Errorf("outcome %+v %s", r.out, r.out.Payload)
	}
}

func TestInitError(t *testing.T) {
	s := start(t)
	rt := newRuntime(t, s)
	if code, _ := rt.post("init/error", []byte(`{"errorMessage":"no handler","errorType":"Runtime.NoHandler"}`), nil); code != 202 {
		t.Errorf("init error: %d", code)
	}
	if code, _ := rt.post("init/error", []byte(`{}`), nil); code != 403 {
		t.Errorf("second init error: %d", code)
	}
	out := <-s.InitError()
	if !out.Error || out.ErrorType != "Runtime.NoHandler" {
		t.Errorf("init outcome %+v", out)
	}
}

func TestBusyTimeoutAndClose(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// No runtime asks: the caller's deadline ends the wait.
	if _, err := s.Invoke(ctx, Invocation{RequestID: "t1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
	ch := invokeAsync(s, context.Background(), Invocation{RequestID: "t2"})
	time.Sleep(10 * time.Millisecond)
	// A Close ends the waiting invocation.
	s.Close()
	if r := <-ch; !errors.Is(r.err, ErrClosed) {
		t.Errorf("after close: %v", r.err)
	}
}

func TestUnknownPath(t *testing.T) {
	s := start(t)
	rt := newRuntime(t, s)
	if code, _ := rt.post("invocation/x/other", nil, nil); code != 404 {
		t.Errorf("code %d", code)
	}
}
