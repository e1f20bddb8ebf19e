package proxy

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

// group is a target group: its targets, their health and its checker.
type group struct {
	m   *Manager
	arn string
	n   atomic.Uint64 // picks so far, for round robin
	groupMetrics

	mu        sync.Mutex
	cfg       elbv2.GroupConfig
	targets   []*target // in registration order
	stopCheck context.CancelFunc
	checking  *berthv1.ELBTargetGroup // the settings the checker runs with
}

// target is a target of a group.
type target struct {
	key, addr     string
	drainingUntil time.Time
	outstanding   atomic.Int64
	health        elbv2.Health // under group.mu
}

func newGroup(m *Manager, arn string) *group {
	return &group{m: m, arn: arn, groupMetrics: m.opts.Metrics.group(arn)}
}

// apply takes the group's new settings and targets, keeping the health of
// the targets it already had, and starts, restarts or stops its checker.
func (g *group) apply(gc elbv2.GroupConfig) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := map[string]*target{}
	for _, t := range g.targets {
		old[t.key] = t
	}
	g.targets = g.targets[:0:0]
	for _, tc := range gc.Targets {
		t, ok := old[tc.Key]
		if !ok || t.addr != tc.Addr {
			t = &target{key: tc.Key, addr: tc.Addr}
		}
		t.drainingUntil = tc.DrainingUntil
		g.targets = append(g.targets, t)
	}
	g.cfg = gc
	run := gc.InUse && gc.TargetGroup.GetHealthCheckEnabled()
	if g.stopCheck != nil && (!run || !sameHealthCheck(g.checking, gc.TargetGroup)) {
		g.stopCheck()
		g.stopCheck = nil
	}
	if run && g.stopCheck == nil {
		ctx, cancel := context.WithCancel(context.Background())
		g.stopCheck, g.checking = cancel, gc.TargetGroup
		g.m.wg.Add(1)
		go func() {
			defer g.m.wg.Done()
			g.check(ctx, gc.TargetGroup)
		}()
	}
	g.updateGauges()
}

func (g *group) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopCheck != nil {
		g.stopCheck()
		g.stopCheck = nil
	}
}

func (g *group) health(key string) (elbv2.Health, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.targets {
		if t.key == key {
			return t.health, true
		}
	}
	return elbv2.Health{}, false
}

// pick chooses the target of a new request, nil when none may take it.
func (g *group) pick() *target {
	now := time.Now()
	var liveBuf [8]*target
	var csBuf [8]elbv2.Candidate
	g.mu.Lock()
	defer g.mu.Unlock()
	checks := g.cfg.TargetGroup.GetHealthCheckEnabled()
	live, cs := liveBuf[:0], csBuf[:0]
	for _, t := range g.targets {
		draining := !t.drainingUntil.IsZero()
		if draining && !t.drainingUntil.After(now) {
			continue // its deregistration delay is over: gone
		}
		live = append(live, t)
		cs = append(cs, elbv2.Candidate{Healthy: !checks || t.health.State == elbv2.StateHealthy, Draining: draining, Outstanding: int(t.outstanding.Load())})
	}
	n := g.n.Add(1) - 1
	var i int
	if g.cfg.Algorithm == elbv2.LeastOutstandingRequests {
		i = elbv2.PickLeastOutstanding(cs, n)
	} else {
		i = elbv2.PickRoundRobin(cs, n)
	}
	if i < 0 {
		return nil
	}
	return live[i]
}

// check runs the group's health checks until ctx ends: every target that is
// not draining, at once, every interval, the first round at the start.
func (g *group) check(ctx context.Context, tg *berthv1.ELBTargetGroup) {
	interval := g.m.opts.Interval(tg.GetHealthCheckIntervalSeconds())
	timeout := g.m.opts.Interval(tg.GetHealthCheckTimeoutSeconds())
	matcher, err := elbv2.ParseMatcher(tg.GetMatcher().GetHttpCode())
	if err != nil {
		matcher = elbv2.Matcher{{200, 200}}
	}
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: timeout}).DialContext},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is its code, as ELB counts it
		},
	}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		g.mu.Lock()
		var targets []*target
		for _, t := range g.targets {
			if t.drainingUntil.IsZero() {
				targets = append(targets, t)
			}
		}
		g.mu.Unlock()
		var wg sync.WaitGroup
		results := make([]elbv2.Check, len(targets))
		for i, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = probe(ctx, client, t.addr, tg)
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		g.mu.Lock()
		for i, t := range targets {
			t.health = elbv2.Observe(t.health, results[i], matcher, int(tg.GetHealthyThresholdCount()), int(tg.GetUnhealthyThresholdCount()))
		}
		g.updateGauges()
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// probe is one health check of a target.
func probe(ctx context.Context, client *http.Client, addr string, tg *berthv1.ELBTargetGroup) elbv2.Check {
	if p := tg.GetHealthCheckPort(); p != "" && p != "traffic-port" {
		host, _, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(host, p)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+tg.GetHealthCheckPath(), nil)
	if err != nil {
		return elbv2.Check{Err: err.Error()}
	}
	req.Header.Set("User-Agent", "ELB-HealthChecker/2.0")
	resp, err := client.Do(req)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return elbv2.Check{Timeout: true}
		}
		return elbv2.Check{Err: err.Error()}
	}
	resp.Body.Close()
	return elbv2.Check{Code: resp.StatusCode}
}

// updateGauges sets the group's healthy and unhealthy host counts (g.mu held).
func (g *group) updateGauges() {
	healthy, unhealthy := 0, 0
	for _, t := range g.targets {
		if !t.drainingUntil.IsZero() {
			continue
		}
		switch t.health.State {
		case elbv2.StateHealthy:
			healthy++
		case elbv2.StateUnhealthy:
			unhealthy++
		}
	}
	g.m.opts.Metrics.hosts(g.arn, healthy, unhealthy)
}
