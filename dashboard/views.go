package dashboard

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"
)

// The services' panels: Lambda's functions, S3's buckets, EventBridge's
// rules and Scheduler's schedules, Elastic Load Balancing's load balancers
// and target groups, and service auto scaling. The
// dashboard knows none of these services' packages: it reads each through a
// small read-only interface of its own (Config.Functions, ...), which the
// control plane fills; a nil one hides its panel. They are account-wide
// (not of the cluster), in the snapshot's "views" and in a "views" event
// of the event stream whenever they change (looked at every viewsPeriod).
// The scaling panel's load generator buttons are demo controls
// (controls.go, Config.Load).

// Panel names, as Views.Panels lists them.
const (
	PanelFunctions     = "functions"
	PanelBuckets       = "buckets"
	PanelRules         = "rules"
	PanelSchedules     = "schedules"
	PanelLoadBalancers = "loadBalancers"
	PanelScaling       = "scaling"
)

// Views is the services' panels.
type Views struct {
	// Panels names the panels this control plane serves; the page hides
	// the others.
	Panels        []string         `json:"panels"`
	Functions     []Function       `json:"functions"`
	Buckets       []Bucket         `json:"buckets"`
	Rules         []Rule           `json:"rules"`
	Schedules     []Schedule       `json:"schedules"`
	LoadBalancers []LoadBalancer   `json:"loadBalancers"`
	TargetGroups  []TargetGroup    `json:"targetGroups"`
	Scaling       []ScalableTarget `json:"scaling"`
	// Errors are the panels that could not be read this time, by panel.
	Errors map[string]string `json:"errors,omitempty"`
}

// Function is a Lambda function ($LATEST) with its execution environments
// and its recent invocations.
type Function struct {
	Name             string `json:"name"`
	ARN              string `json:"arn"`
	Runtime          string `json:"runtime,omitempty"` // a Zip function's
	PackageType      string `json:"packageType"`
	MemoryMB         int32  `json:"memoryMB"`
	TimeoutSeconds   int32  `json:"timeoutSeconds"`
	State            string `json:"state"`
	LastUpdateStatus string `json:"lastUpdateStatus,omitempty"`
	// ReservedConcurrency is PutFunctionConcurrency's; nil: none (the
	// account's unreserved pool).
	ReservedConcurrency *int32       `json:"reservedConcurrency,omitempty"`
	Environments        Environments `json:"environments"`
	Invocations         Invocations  `json:"invocations"`
}

// Environments counts a function's execution environments by state.
type Environments struct {
	Starting int `json:"starting"` // a cold start under way
	Busy     int `json:"busy"`
	Idle     int `json:"idle"` // warm
	Stopping int `json:"stopping"`
}

// Invocations are a function's invocations in the last WindowSeconds (and
// since the control plane started): those that ended in a function error or
// were refused count as errors; those that started an environment are cold
// starts.
type Invocations struct {
	WindowSeconds int     `json:"windowSeconds"`
	Recent        int     `json:"recent"`
	Errors        int     `json:"errors"`
	ColdStarts    int     `json:"coldStarts"`
	PerSecond     float64 `json:"perSecond"` // over the last minute
	Total         int64   `json:"total"`
	TotalErrors   int64   `json:"totalErrors"`
	LastAt        float64 `json:"lastAt,omitempty"`
	LastError     string  `json:"lastError,omitempty"`
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name      string  `json:"name"`
	CreatedAt float64 `json:"createdAt"`
	Objects   int     `json:"objects"`
}

// Rule is an EventBridge rule on the default bus with its targets.
type Rule struct {
	Name          string       `json:"name"`
	State         string       `json:"state"`
	EventPattern  string       `json:"eventPattern,omitempty"`
	Schedule      string       `json:"scheduleExpression,omitempty"`
	Description   string       `json:"description,omitempty"`
	LastMatchedAt float64      `json:"lastMatchedAt,omitempty"`
	Targets       []RuleTarget `json:"targets"`
	// NextFire is a scheduled rule's next slot (seconds since the epoch).
	NextFire float64 `json:"nextFire,omitempty"`
}

// RuleTarget is a rule's (or a schedule's) target and what became of the
// events sent to it since the control plane started: Matched were queued
// for it, Delivered taken, Failed gave up on (dead letters, counted from
// the store); Pending wait for a retry now.
type RuleTarget struct {
	ID              string  `json:"id"`
	ARN             string  `json:"arn"`
	Kind            string  `json:"kind"` // "lambda", "ecs", ...: the ARN's service
	Matched         int64   `json:"matched"`
	Delivered       int64   `json:"delivered"`
	Failed          int64   `json:"failed"`
	Pending         int     `json:"pending"`
	LastDeliveredAt float64 `json:"lastDeliveredAt,omitempty"`
	LastFailedAt    float64 `json:"lastFailedAt,omitempty"`
	LastError       string  `json:"lastError,omitempty"`
}

// Schedule is an EventBridge Scheduler schedule.
type Schedule struct {
	Group      string     `json:"group"`
	Name       string     `json:"name"`
	Expression string     `json:"expression"`
	Timezone   string     `json:"timezone,omitempty"`
	State      string     `json:"state"`
	Target     RuleTarget `json:"target"`
	// NextFire is the next slot, 0 when none will come; LastFire the slot
	// fired last, 0 when none has.
	NextFire float64 `json:"nextFire,omitempty"`
	LastFire float64 `json:"lastFire,omitempty"`
}

// LoadBalancer is an application load balancer and its listeners.
type LoadBalancer struct {
	Name      string     `json:"name"`
	ARN       string     `json:"arn"`
	DNSName   string     `json:"dnsName"`
	State     string     `json:"state"`
	Listeners []Listener `json:"listeners"`
}

// Listener is a load balancer's listener.
type Listener struct {
	ARN      string `json:"arn"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	// Addr is where it serves (host:port); "" when it is not bound.
	Addr string `json:"addr,omitempty"`
	// Default is its default action in words ("forward to web", "fixed
	// response 404").
	Default string `json:"default"`
	Rules   int    `json:"rules"` // beyond the default
}

// TargetGroup is a target group, its targets' health and its traffic.
type TargetGroup struct {
	Name            string   `json:"name"`
	ARN             string   `json:"arn"`
	Protocol        string   `json:"protocol"`
	Port            int32    `json:"port"`
	TargetType      string   `json:"targetType"`
	HealthCheckPath string   `json:"healthCheckPath,omitempty"`
	LoadBalancers   []string `json:"loadBalancers"` // names
	Targets         []Target `json:"targets"`
	Healthy         int      `json:"healthy"`
	// Requests is the requests routed to it since the control plane
	// started (ELB's RequestCount); RequestsPerSecond their rate over the
	// last rateWindow, and PerTargetPerSecond that rate over its healthy
	// targets (ELB's RequestCountPerTarget), or over all its targets
	// when none is healthy.
	Requests           float64 `json:"requests"`
	RequestsPerSecond  float64 `json:"requestsPerSecond"`
	PerTargetPerSecond float64 `json:"perTargetPerSecond"`
}

// Target is a registered target with its health as DescribeTargetHealth
// reports it.
type Target struct {
	ID          string `json:"id"`
	Port        int32  `json:"port"`
	State       string `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
}

// ScalableTarget is a scalable target of service auto scaling (an ECS
// service's desired count), its policies with their metric against its
// target, its latest activities, and the classroom load generator that can
// drive it (controls.go).
type ScalableTarget struct {
	ResourceID string `json:"resourceId"` // service/CLUSTER/SERVICE
	Dimension  string `json:"dimension"`  // ecs:service:DesiredCount
	Min        int32  `json:"min"`
	Max        int32  `json:"max"`
	// Desired and Running are the service's counts now.
	Desired  int32           `json:"desired"`
	Running  int32           `json:"running"`
	Policies []ScalingPolicy `json:"policies"`
	// Activities are the latest, newest first.
	Activities  []ScalingActivity `json:"activities"`
	Description string            `json:"description,omitempty"`
	// LoadTarget is the listener the load generator sends to (a policy on
	// ALBRequestCountPerTarget names its load balancer), "" when there is
	// none; LoadNote says why not. Load is the generator's latest run.
	LoadTarget string   `json:"loadTarget,omitempty"`
	LoadNote   string   `json:"loadNote,omitempty"`
	Load       *LoadRun `json:"load,omitempty"`
}

// ScalingPolicy is a scaling policy; for target tracking, its metric's
// latest value against its target value, and its alarms' datapoints (how
// many evaluations in a row were above the target, and below 90% of it).
type ScalingPolicy struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`   // TargetTrackingScaling, StepScaling
	Metric        string   `json:"metric"` // ECSServiceAverageCPUUtilization, ...
	ResourceLabel string   `json:"resourceLabel,omitempty"`
	Target        float64  `json:"target"`
	Current       *float64 `json:"current,omitempty"` // nil: no datapoint
	EvaluatedAt   float64  `json:"evaluatedAt,omitempty"`
	High          int32    `json:"highDatapoints"`
	Low           int32    `json:"lowDatapoints"`
	// ScaleOutAfter and ScaleInAfter are the datapoints in a row each
	// alarm needs.
	ScaleOutAfter  int32 `json:"scaleOutAfter"`
	ScaleInAfter   int32 `json:"scaleInAfter"`
	DisableScaleIn bool  `json:"disableScaleIn,omitempty"`
}

// ScalingActivity is one scaling activity.
type ScalingActivity struct {
	At          float64 `json:"at"`
	Status      string  `json:"status"`
	Description string  `json:"description"`
	Cause       string  `json:"cause,omitempty"`
	Details     string  `json:"details,omitempty"`
}

// LoadRun is a run of the load generator: requests to URL at Rate a
// second for Seconds at most.
type LoadRun struct {
	URL       string  `json:"url"`
	Rate      int     `json:"rate"`
	Seconds   float64 `json:"seconds"`
	State     string  `json:"state"` // running, finished, stopped
	StartedAt float64 `json:"startedAt"`
	EndsAt    float64 `json:"endsAt"`
	EndedAt   float64 `json:"endedAt,omitempty"`
	Remaining float64 `json:"remaining"` // seconds
	Sent      int64   `json:"sent"`
	Failed    int64   `json:"failed"`
	LastError string  `json:"lastError,omitempty"`
}

// The sources of the panels: small read-only interfaces the control plane
// fills from the services' APIs.

// FunctionSource lists Lambda's functions with their environments and
// recent invocations.
type FunctionSource interface {
	Functions(ctx context.Context) ([]Function, error)
}

// BucketSource lists S3's buckets with their object counts.
type BucketSource interface {
	Buckets(ctx context.Context) ([]Bucket, error)
}

// RuleSource lists EventBridge's rules with their targets and deliveries.
type RuleSource interface {
	Rules(ctx context.Context) ([]Rule, error)
}

// ScheduleSource lists EventBridge Scheduler's schedules with their next
// fire time.
type ScheduleSource interface {
	Schedules(ctx context.Context) ([]Schedule, error)
}

// LoadBalancerSource lists the load balancers with their listeners, and the
// target groups with their targets' health and Requests (a counter since
// start; the dashboard makes the rates).
type LoadBalancerSource interface {
	LoadBalancing(ctx context.Context) ([]LoadBalancer, []TargetGroup, error)
}

// ScalingSource lists service auto scaling's scalable targets with their
// policies, activities and load generator runs.
type ScalingSource interface {
	ScalableTargets(ctx context.Context) ([]ScalableTarget, error)
}

// Tuning of the views.
const (
	// viewsTTL is how long one reading of the views serves every stream
	// and snapshot.
	viewsTTL = time.Second
	// viewsPeriod is how often an event stream looks at the views and
	// sends them when they changed.
	viewsPeriod = 2 * time.Second
	// rateWindow is the span over which request rates are measured.
	rateWindow = 10 * time.Second
)

// viewCache holds the latest reading of the views and the samples the
// request rates are made of.
type viewCache struct {
	mu      sync.Mutex
	at      time.Time
	views   *Views
	samples map[string][]sample // target group ARN -> its Requests over time
}

type sample struct {
	at time.Time
	n  float64
}

// views reads the panels, at most once per viewsTTL for every caller.
func (d *Dashboard) views(ctx context.Context) *Views {
	c := &d.viewCache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.views != nil && now.Sub(c.at) < viewsTTL {
		return c.views
	}
	c.views, c.at = d.readViews(ctx, now), now
	return c.views
}

// readViews reads every panel that has a source; called under viewCache.mu.
func (d *Dashboard) readViews(ctx context.Context, now time.Time) *Views {
	cfg := d.cfg
	v := &Views{Panels: []string{}, Functions: []Function{}, Buckets: []Bucket{}, Rules: []Rule{}, Schedules: []Schedule{},
		LoadBalancers: []LoadBalancer{}, TargetGroups: []TargetGroup{}, Scaling: []ScalableTarget{}}
	fail := func(panel string, err error) {
		if v.Errors == nil {
			v.Errors = map[string]string{}
		}
		v.Errors[panel] = err.Error()
		d.log.Debug("dashboard: a panel could not be read", "panel", panel, "err", err)
	}
	if cfg.Functions != nil {
		v.Panels = append(v.Panels, PanelFunctions)
		if fs, err := cfg.Functions.Functions(ctx); err != nil {
			fail(PanelFunctions, err)
		} else if fs != nil {
			v.Functions = fs
		}
		sort.Slice(v.Functions, func(i, j int) bool { return v.Functions[i].Name < v.Functions[j].Name })
	}
	if cfg.Buckets != nil {
		v.Panels = append(v.Panels, PanelBuckets)
		if bs, err := cfg.Buckets.Buckets(ctx); err != nil {
			fail(PanelBuckets, err)
		} else if bs != nil {
			v.Buckets = bs
		}
		sort.Slice(v.Buckets, func(i, j int) bool { return v.Buckets[i].Name < v.Buckets[j].Name })
	}
	if cfg.Rules != nil {
		v.Panels = append(v.Panels, PanelRules)
		if rs, err := cfg.Rules.Rules(ctx); err != nil {
			fail(PanelRules, err)
		} else if rs != nil {
			v.Rules = rs
		}
		sort.Slice(v.Rules, func(i, j int) bool { return v.Rules[i].Name < v.Rules[j].Name })
	}
	if cfg.Schedules != nil {
		v.Panels = append(v.Panels, PanelSchedules)
		if ss, err := cfg.Schedules.Schedules(ctx); err != nil {
			fail(PanelSchedules, err)
		} else if ss != nil {
			v.Schedules = ss
		}
		sort.Slice(v.Schedules, func(i, j int) bool {
			a, b := v.Schedules[i], v.Schedules[j]
			return a.Group < b.Group || a.Group == b.Group && a.Name < b.Name
		})
	}
	if cfg.LoadBalancers != nil {
		v.Panels = append(v.Panels, PanelLoadBalancers)
		if lbs, tgs, err := cfg.LoadBalancers.LoadBalancing(ctx); err != nil {
			fail(PanelLoadBalancers, err)
		} else {
			if lbs != nil {
				v.LoadBalancers = lbs
			}
			if tgs != nil {
				v.TargetGroups = tgs
			}
		}
		sort.Slice(v.LoadBalancers, func(i, j int) bool { return v.LoadBalancers[i].Name < v.LoadBalancers[j].Name })
		sort.Slice(v.TargetGroups, func(i, j int) bool { return v.TargetGroups[i].Name < v.TargetGroups[j].Name })
		d.viewCache.rates(v.TargetGroups, now)
	}
	if cfg.Scaling != nil {
		v.Panels = append(v.Panels, PanelScaling)
		if st, err := cfg.Scaling.ScalableTargets(ctx); err != nil {
			fail(PanelScaling, err)
		} else if st != nil {
			v.Scaling = st
		}
		sort.Slice(v.Scaling, func(i, j int) bool { return v.Scaling[i].ResourceID < v.Scaling[j].ResourceID })
	}
	return v
}

// expire makes the next reading of the views read them again.
func (c *viewCache) expire() {
	c.mu.Lock()
	c.views = nil
	c.mu.Unlock()
}

// rates fills in the target groups' request rates from their Requests now
// and the samples of the last rateWindow; called under mu.
func (c *viewCache) rates(tgs []TargetGroup, now time.Time) {
	if c.samples == nil {
		c.samples = map[string][]sample{}
	}
	seen := make(map[string]bool, len(tgs))
	for i := range tgs {
		tg := &tgs[i]
		seen[tg.ARN] = true
		s := append(c.samples[tg.ARN], sample{at: now, n: tg.Requests})
		for len(s) > 1 && now.Sub(s[0].at) > rateWindow {
			s = s[1:]
		}
		c.samples[tg.ARN] = s
		if span := now.Sub(s[0].at).Seconds(); span > 0 && tg.Requests >= s[0].n {
			tg.RequestsPerSecond = (tg.Requests - s[0].n) / span
		}
		per := tg.Healthy
		if per == 0 {
			per = len(tg.Targets)
		}
		if per > 0 {
			tg.PerTargetPerSecond = tg.RequestsPerSecond / float64(per)
		}
	}
	for arn := range c.samples {
		if !seen[arn] {
			delete(c.samples, arn) // deleted: forget it
		}
	}
}

// viewsHandler is GET /dashboard/api/views: the services' panels alone.
func (d *Dashboard) viewsHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.views(r.Context()))
}
