package proxy

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestTargetGroupCounts(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	const tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
	if _, _, ok := m.TargetGroupCounts("targetgroup/web/0123456789abcdef"); ok {
		t.Fatal("counts of a target group never reported")
	}
	m.hosts(tg, 2, 1)
	web := m.group(tg)
	for range 5 {
		web.requests.Inc()
	}
	m.group("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/other/fedcba9876543210").requests.Inc()
	r, h, ok := m.TargetGroupCounts("targetgroup/web/0123456789abcdef")
	if !ok || r != 5 || h != 2 {
		t.Fatalf("requests %v healthy %d ok %v, want 5, 2", r, h, ok)
	}
	var none *Metrics
	if _, _, ok := none.TargetGroupCounts("x"); ok {
		t.Fatal("a nil Metrics has counts")
	}
}
