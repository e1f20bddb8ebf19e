package controlplane

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"
)

// metrics are the control plane's Prometheus collectors, on a registry of
// its own (no global state).
type metrics struct {
	registry    *prometheus.Registry
	calls       *prometheus.CounterVec
	callSeconds *prometheus.HistogramVec
	wireCalls   *prometheus.CounterVec
	batchSize   prometheus.Histogram
	commitSecs  prometheus.Histogram
	throttled   *prometheus.CounterVec
}

func newMetrics(revision func() uint64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_grpc_requests_total", Help: "gRPC calls by method and code.",
		}, []string{"method", "code"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "berth_grpc_request_duration_seconds", Help: "gRPC call latency by method.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"method"}),
		wireCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_aws_requests_total", Help: "AWS API calls through the front door by service, operation and exception (empty: success).",
		}, []string{"service", "operation", "exception"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_store_commit_commands", Help: "Commands grouped into one durable store transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_throttled_requests_total", Help: "ECS calls refused with ThrottlingException, by operation.",
		}, []string{"operation"}),
		commitSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "berth_store_commit_duration_seconds", Help: "Time to apply and fsync one store transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	m.registry.MustRegister(m.calls, m.callSeconds, m.wireCalls, m.batchSize, m.commitSecs, m.throttled,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "berth_store_revision", Help: "Revision of the last applied change.",
		}, func() float64 { return float64(revision()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observeCall(method string, code codes.Code, took time.Duration) {
	m.calls.WithLabelValues(method, code.String()).Inc()
	m.callSeconds.WithLabelValues(method).Observe(took.Seconds())
}

func (m *metrics) observeCommit(commands int, took time.Duration) {
	m.batchSize.Observe(float64(commands))
	m.commitSecs.Observe(took.Seconds())
}

func (m *metrics) observeWire(service, op, exception string, took time.Duration) {
	// The call's latency is the interceptor chain's (berth_grpc_request_duration_seconds).
	m.wireCalls.WithLabelValues(service, op, exception).Inc()
}

// observeAgents exports the agent sessions' counts.
func (m *metrics) observeAgents(heartbeats func() uint64, sessions func() int) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "berth_agent_heartbeats_total", Help: "Heartbeats received from agents.",
		}, func() float64 { return float64(heartbeats()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "berth_agent_sessions", Help: "Open agent sessions.",
		}, func() float64 { return float64(sessions()) }),
	)
}
