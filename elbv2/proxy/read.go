package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TargetGroupCounts reads a target group's RequestCount so far and its
// HealthyHostCount by its dimension ("targetgroup/NAME/ID"), for
// Application Auto Scaling's ALBRequestCountPerTarget; ok false when the
// proxy has not reported the target group's health yet. It creates no
// series.
func (m *Metrics) TargetGroupCounts(tg string) (requests float64, healthy int, ok bool) {
	if m == nil {
		return 0, 0, false
	}
	h, ok := read(m.healthy, tg)
	if !ok {
		return 0, 0, false
	}
	r, _ := read(m.requests, tg)
	return r, int(h), true
}

// read is the value of the collector's series whose one label is tg.
func read(c prometheus.Collector, tg string) (float64, bool) {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var v float64
	found := false
	for pm := range ch {
		var d dto.Metric
		if found || pm.Write(&d) != nil || len(d.GetLabel()) != 1 || d.GetLabel()[0].GetValue() != tg {
			continue
		}
		switch {
		case d.Counter != nil:
			v, found = d.GetCounter().GetValue(), true
		case d.Gauge != nil:
			v, found = d.GetGauge().GetValue(), true
		}
	}
	return v, found
}

// Metrics is the metrics the manager keeps (Options.Metrics; nil: none).
func (m *Manager) Metrics() *Metrics { return m.opts.Metrics }
