package proxy

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the target groups' metrics, as ELB's CloudWatch metrics name
// them, labelled by target group ("targetgroup/NAME/ID", ELB's dimension).
// A nil *Metrics keeps none.
type Metrics struct {
	requests     *prometheus.CounterVec
	responseTime *prometheus.SummaryVec
	target5xx    *prometheus.CounterVec
	elbCodes     *prometheus.CounterVec
	healthy      *prometheus.GaugeVec
	unhealthy    *prometheus.GaugeVec
}

// NewMetrics registers the target groups' metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_elb_request_count_total", Help: "Requests routed to a target group (ELB's RequestCount).",
		}, []string{"target_group"}),
		responseTime: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: "berth_elb_target_response_time_seconds", Help: "Time from sending a request to a target to its response headers (ELB's TargetResponseTime).",
			Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}, MaxAge: time.Minute,
		}, []string{"target_group"}),
		target5xx: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_elb_httpcode_target_5xx_total", Help: "5XX responses from targets (ELB's HTTPCode_Target_5XX_Count).",
		}, []string{"target_group"}),
		elbCodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_elb_httpcode_elb_total", Help: "Error responses the load balancer made itself, by code (ELB's HTTPCode_ELB_502_Count, ...).",
		}, []string{"target_group", "code"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_elb_healthy_host_count", Help: "Healthy targets of a target group (ELB's HealthyHostCount).",
		}, []string{"target_group"}),
		unhealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_elb_unhealthy_host_count", Help: "Unhealthy targets of a target group (ELB's UnHealthyHostCount).",
		}, []string{"target_group"}),
	}
	reg.MustRegister(m.requests, m.responseTime, m.target5xx, m.elbCodes, m.healthy, m.unhealthy)
	return m
}

// dimension is ELB's TargetGroup dimension of a target group ARN.
func dimension(arn string) string {
	if i := strings.Index(arn, ":targetgroup/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// groupMetrics are one target group's series, looked up once when the
// group is made rather than by label on every request; their zero value
// keeps nothing.
type groupMetrics struct {
	requests     prometheus.Counter
	responseTime prometheus.Observer
	target5xx    prometheus.Counter
}

func (m *Metrics) group(tg string) groupMetrics {
	if m == nil {
		return groupMetrics{requests: noCounter{}}
	}
	d := dimension(tg)
	return groupMetrics{requests: m.requests.WithLabelValues(d), responseTime: m.responseTime.WithLabelValues(d), target5xx: m.target5xx.WithLabelValues(d)}
}

func (g groupMetrics) observe(code int, took time.Duration) {
	if g.responseTime == nil {
		return
	}
	g.responseTime.Observe(took.Seconds())
	if code >= 500 {
		g.target5xx.Inc()
	}
}

// noCounter is the request counter of a Manager without metrics.
type noCounter struct{ prometheus.Counter }

func (noCounter) Inc() {}

func (m *Metrics) elbError(tg string, code int) {
	if m != nil {
		m.elbCodes.WithLabelValues(dimension(tg), strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) hosts(tg string, healthy, unhealthy int) {
	if m != nil {
		m.healthy.WithLabelValues(dimension(tg)).Set(float64(healthy))
		m.unhealthy.WithLabelValues(dimension(tg)).Set(float64(unhealthy))
	}
}

// forget drops a deleted target group's series.
func (m *Metrics) forget(tg string) {
	if m == nil {
		return
	}
	d := dimension(tg)
	m.requests.DeleteLabelValues(d)
	m.responseTime.DeleteLabelValues(d)
	m.target5xx.DeleteLabelValues(d)
	m.elbCodes.DeletePartialMatch(prometheus.Labels{"target_group": d})
	m.healthy.DeleteLabelValues(d)
	m.unhealthy.DeleteLabelValues(d)
}
