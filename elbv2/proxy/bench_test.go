package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth/berth/elbv2"
)

// BenchmarkListenerRequest is one request through a listener's handler
// (route, pick, forward over a kept-alive connection to one of three
// targets, metrics), without the client's side of the network: its
// allocations per request are what berth adds to httputil's and the
// transport's.
func BenchmarkListenerRequest(b *testing.B) {
	body := []byte("0123456789abcdef")
	var backends []*httptest.Server
	for range 3 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		b.Cleanup(s.Close)
		backends = append(backends, s)
	}
	m := New(Options{Metrics: NewMetrics(prometheus.NewRegistry())})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	if err := m.Bind("l1", "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	gc := groupOf(backends, "", false)
	m.Apply(elbv2Config(gc))
	h := m.handler(m.listeners["l1"])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://web.example/", nil))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func elbv2Config(gc elbv2.GroupConfig) elbv2.Config {
	return elbv2.Config{Listeners: []elbv2.ListenerConfig{{Arn: "l1", Addr: "127.0.0.1:0", Port: 80, Rules: forwardRule()}}, Groups: []elbv2.GroupConfig{gc}}
}
