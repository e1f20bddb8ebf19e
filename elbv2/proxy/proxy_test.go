package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const tgArn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"

func ptr[T any](v T) *T { return &v }

// group is a target group config over backends.
func groupOf(backends []*httptest.Server, algorithm string, checks bool) elbv2.GroupConfig {
	gc := elbv2.GroupConfig{Arn: tgArn, Algorithm: algorithm, InUse: true, TargetGroup: &berthv1.ELBTargetGroup{
		TargetGroupArn: tgArn, HealthCheckEnabled: ptr(checks), HealthCheckPath: "/health", HealthCheckPort: "traffic-port",
		HealthCheckIntervalSeconds: 30, HealthCheckTimeoutSeconds: 25, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2,
		Matcher: &berthv1.ELBMatcher{HttpCode: "200"}}}
	for _, b := range backends {
		addr := strings.TrimPrefix(b.URL, "http://")
		gc.Targets = append(gc.Targets, elbv2.TargetConfig{Key: addr, Addr: addr})
	}
	return gc
}

func forwardRule() []*berthv1.ELBRule {
	return []*berthv1.ELBRule{{RuleArn: "default", Priority: "default", IsDefault: ptr(true), Actions: []*berthv1.ELBAction{{
		Type: "forward", TargetGroupArn: tgArn, ForwardConfig: &berthv1.ELBForwardActionConfig{TargetGroups: []*berthv1.ELBTargetGroupTuple{{TargetGroupArn: tgArn, Weight: ptr(int32(1))}}}}}}}
}

// run starts a manager with one listener on a free port over gc, health
// checks every 10 ms.
func run(t *testing.T, gc elbv2.GroupConfig, o Options) (*Manager, string) {
	t.Helper()
	o.Interval = func(s int32) time.Duration { return time.Duration(s) * 10 * time.Millisecond }
	m := New(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := m.Bind("l1", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := m.Addr("l1")
	m.Apply(elbv2.Config{Listeners: []elbv2.ListenerConfig{{Arn: "l1", Addr: "127.0.0.1:0", Port: 80, Rules: forwardRule()}}, Groups: []elbv2.GroupConfig{gc}})
	return m, "http://" + addr
}

func named(t *testing.T, name string, h func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		if h != nil {
			h(w, r)
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T) *http.Client {
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
	}
}

func allHealthy(m *Manager, gc elbv2.GroupConfig) func() bool {
	return func() bool {
		for _, tc := range gc.Targets {
			if h, _ := m.Health(tgArn, tc.Key); h.State != elbv2.StateHealthy {
				return false
			}
		}
		return true
	}
}

// 1,000 requests over 3 healthy targets, round robin: a third each.
func TestDistribution(t *testing.T) {
	bs := []*httptest.Server{named(t, "a", nil), named(t, "b", nil), named(t, "c", nil)}
	gc := groupOf(bs, elbv2.RoundRobin, true)
	m, url := run(t, gc, Options{})
	eventually(t, "targets healthy", allHealthy(m, gc))
	c := client(t)
	counts := map[string]int{}
	for range 999 {
		code, body := get(t, c, url+"/")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		counts[body]++
	}
	if counts["a"] != 333 || counts["b"] != 333 || counts["c"] != 333 {
		t.Errorf("round robin: %v", counts)
	}
}

// Least outstanding requests: while one target holds requests, new ones go
// to the others.
func TestLeastOutstanding(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	slow := named(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived <- struct{}{}
			<-release
		}
	})
	bs := []*httptest.Server{slow, named(t, "b", nil), named(t, "c", nil)}
	gc := groupOf(bs, elbv2.LeastOutstandingRequests, false)
	_, url := run(t, gc, Options{})
	c := client(t)
	// Hold a request on the slow target: with no requests in flight the
	// pick goes round robin, so send /hold until one blocks there (the fast
	// targets answer it at once).
	var done sync.WaitGroup
	for blocked := false; !blocked; {
		done.Add(1)
		ch := make(chan struct{})
		go func() {
			defer done.Done()
			get(t, c, url+"/hold")
			close(ch)
		}()
		select {
		case <-ch: // a fast target answered
		case <-arrived:
			blocked = true
		}
	}
	for range 20 {
		if _, body := get(t, c, url+"/"); body == "slow" {
			t.Fatal("a new request went to the target with requests in flight")
		}
	}
	close(release)
	done.Wait()
}

// Draining: a draining target takes no new request, and its request in
// flight finishes.
func TestDraining(t *testing.T) {
	inFlight := make(chan struct{})
	release := make(chan struct{})
	a := named(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inFlight)
			<-release
		}
	})
	bs := []*httptest.Server{a, named(t, "b", nil)}
	gc := groupOf(bs, elbv2.RoundRobin, false)
	m, url := run(t, gc, Options{})
	c := client(t)
	result := make(chan string, 1)
	// Round robin starts at a: the first request goes there.
	go func() {
		code, body := get(t, c, url+"/slow")
		result <- fmt.Sprint(code, " ", body)
	}()
	<-inFlight
	gc.Targets[0].DrainingUntil = time.Now().Add(time.Hour)
	m.Apply(elbv2.Config{Listeners: []elbv2.ListenerConfig{{Arn: "l1", Addr: "127.0.0.1:0", Port: 80, Rules: forwardRule()}}, Groups: []elbv2.GroupConfig{gc}})
	for range 10 {
		if _, body := get(t, c, url+"/"); body != "b" {
			t.Fatalf("a new request went to %s, which is draining", body)
		}
	}
	close(release)
	if got := <-result; got != "200 a" {
		t.Errorf("the request in flight on the draining target: %s", got)
	}
	// Once the delay is over the target is gone; with only draining targets
	// left the group has none to take a request: 503.
	gc.Targets = gc.Targets[:1]
	gc.Targets[0].DrainingUntil = time.Now().Add(time.Hour)
	m.Apply(elbv2.Config{Listeners: []elbv2.ListenerConfig{{Arn: "l1", Addr: "127.0.0.1:0", Port: 80, Rules: forwardRule()}}, Groups: []elbv2.GroupConfig{gc}})
	if code, _ := get(t, c, url+"/"); code != 503 {
		t.Errorf("only a draining target: %d, want 503", code)
	}
}

// ALB's own answers: 503 with no target, 502 for a refused connection or a
// broken answer, 504 for a target that answers too late.
func TestELBErrors(t *testing.T) {
	c := client(t)
	t.Run("503 no targets", func(t *testing.T) {
		_, url := run(t, groupOf(nil, elbv2.RoundRobin, true), Options{})
		code, body := get(t, c, url+"/")
		if code != 503 || !strings.Contains(body, "503 Service Temporarily Unavailable") && !strings.Contains(body, "503 Service Unavailable") {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("502 refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		gc := groupOf(nil, elbv2.RoundRobin, false)
		gc.Targets = []elbv2.TargetConfig{{Key: addr, Addr: addr}}
		_, url := run(t, gc, Options{})
		if code, _ := get(t, c, url+"/"); code != 502 {
			t.Errorf("%d, want 502", code)
		}
	})
	t.Run("502 connection closed mid-answer", func(t *testing.T) {
		b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}))
		defer b.Close()
		_, url := run(t, groupOf([]*httptest.Server{b}, elbv2.RoundRobin, false), Options{})
		if code, _ := get(t, c, url+"/"); code != 502 {
			t.Errorf("%d, want 502", code)
		}
	})
	t.Run("504 too slow", func(t *testing.T) {
		release := make(chan struct{})
		b := named(t, "x", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		_, url := run(t, groupOf([]*httptest.Server{b}, elbv2.RoundRobin, false), Options{IdleTimeout: 100 * time.Millisecond})
		if code, _ := get(t, c, url+"/"); code != 504 {
			t.Errorf("%d, want 504", code)
		}
	})
}

// Health checks: a target answering 500 turns unhealthy with ELB's reason,
// and takes no traffic while another is healthy.
func TestHealthCheck(t *testing.T) {
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "sick")
	}))
	t.Cleanup(sick.Close)
	bs := []*httptest.Server{sick, named(t, "well", nil)}
	gc := groupOf(bs, elbv2.RoundRobin, true)
	m, url := run(t, gc, Options{})
	sickKey := gc.Targets[0].Key
	eventually(t, "sick target unhealthy", func() bool {
		h, _ := m.Health(tgArn, sickKey)
		return h.State == elbv2.StateUnhealthy
	})
	h, _ := m.Health(tgArn, sickKey)
	if d := elbv2.Describe(h, false, true, true); d.GetReason() != "Target.ResponseCodeMismatch" || d.GetDescription() != "Health checks failed with these codes: [500]" {
		t.Errorf("reason: %+v", d)
	}
	eventually(t, "well target healthy", func() bool {
		h, _ := m.Health(tgArn, gc.Targets[1].Key)
		return h.State == elbv2.StateHealthy
	})
	c := client(t)
	for range 10 {
		if _, body := get(t, c, url+"/"); body != "well" {
			t.Fatalf("request went to %s", body)
		}
	}
}

// A port that is taken fails Bind and leaves nothing open.
func TestBindTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	m := New(Options{})
	defer m.Close(context.Background())
	err = m.Bind("l1", taken.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("bind a taken port: %v", err)
	}
	if m.Addr("l1") != "" {
		t.Error("a listener is recorded after a failed bind")
	}
}
