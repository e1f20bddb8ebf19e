// Package servicecontroller runs ECS's service scheduler: it watches the
// store, and for each service that may need it (a change to the service, its
// tasks or its cluster's instances, or a periodic resync for what time
// changes) it reads the service's state, asks the pure service.Decide what to
// do, carries that out (places tasks through placement, stops tasks) and
// writes the service's deployments (or, for the EXTERNAL deployment
// controller, its task sets: each task set's tasks are placed with its own
// task definition, launch type and capacity provider strategy, and started
// by its ID), counts and events back.
//
// One goroutine, started by Run and ended with its context, owns all of it:
// it decides the services a change concerns with a few short-lived workers
// and waits for them, so no two decisions about one service ever overlap.
// The store is the only state: a restarted control plane picks up where it
// left off.
package servicecontroller

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/store"
)

// Config is what a Controller needs.
type Config struct {
	Store  *store.Store
	Placer *placement.Placer
	ARNs   arn.Namer
	// Resync is how often every service that is not steady is looked at
	// even without a change (default 5 s): health grace periods and
	// back-offs end with time. A steady service changes only with an event
	// (a task or an instance changing), so it is looked at without one only
	// every fullResyncEvery resyncs, in case.
	Resync time.Duration
	// HealthGrace is how long a task without a health check must run to
	// count as healthy (default 40 s, as ECS).
	HealthGrace time.Duration
	// Workers is how many services are decided at once (default 8).
	Workers int
	Now     func() time.Time
	Logger  *slog.Logger
	// LoadBalancers registers the tasks of services with loadBalancers as
	// targets (nil: none are).
	LoadBalancers LoadBalancers
}

// Controller is the service scheduler's I/O.
type Controller struct {
	cfg Config
	// seen is what services read of each instance (see seenOf),
	// to tell the changes that concern them from the many that do not (a
	// task's reservation moving). Owned by Run's goroutine.
	seen map[instanceKey]instanceSeen
	// targets are the targets registered for each running task (task id to
	// []Target), to deregister them when the task stops by itself.
	targets sync.Map
}

// New returns a Controller; call Run.
func New(cfg Config) *Controller {
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Second
	}
	if cfg.HealthGrace <= 0 {
		cfg.HealthGrace = 40 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Controller{cfg: cfg, seen: map[instanceKey]instanceSeen{}}
}

// fullResyncEvery is how many resyncs pass between those that look at the
// steady services too. Looking at every service every Resync cost 100
// services of 1,000 tasks about 35 MiB of garbage a second, for nothing.
const fullResyncEvery = 12

// serviceKey names a service: cluster and name.
type serviceKey struct{ cluster, name string }

// instanceKey names a container instance: cluster and id.
type instanceKey struct{ cluster, id string }

// Run reconciles services until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	ticks := 0
	for ctx.Err() == nil {
		events := c.cfg.Store.Watch(ctx)
		c.seeAll()
		dirty := c.allServices(true) // anything before this watch may have been missed
		for open := true; open; {
			c.reconcileAll(ctx, dirty)
			dirty = map[serviceKey]bool{}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				ticks++
				dirty = c.allServices(ticks%fullResyncEvery == 0)
			case e, ok := <-events:
				if !ok {
					open = false
					break
				}
				c.markDirty(dirty, e)
				for more := true; more; { // take what else is there before deciding
					select {
					case e, ok := <-events:
						if !ok {
							open, more = false, false
							break
						}
						c.markDirty(dirty, e)
					default:
						more = false
					}
				}
			}
		}
	}
	return nil
}

// allServices is every service that is not INACTIVE; with steady false,
// only those the last decision did not find steady.
func (c *Controller) allServices(steady bool) map[serviceKey]bool {
	out := map[serviceKey]bool{}
	clusters, _, _ := c.cfg.Store.Clusters("", 1<<30)
	for _, cl := range clusters {
		for _, s := range c.cfg.Store.Services(cl, live) {
			if steady || !s.Steady || c.balanced(s) { // targets' health changes without an event
				out[serviceKey{cl, s.Service.ServiceName}] = true
			}
		}
	}
	return out
}

func live(r *berthv1.ServiceRecord) bool { return r.Service.GetStatus() != store.StatusInactive }

// markDirty marks the services an event may concern.
func (c *Controller) markDirty(dirty map[serviceKey]bool, e store.Event) {
	switch v := e.Value.(type) {
	case *berthv1.ServiceRecord:
		if live(v) {
			dirty[serviceKey{v.Cluster, v.Service.ServiceName}] = true
		}
	case *berthv1.TaskRecord:
		if name, ok := strings.CutPrefix(v.Task.GetGroup(), "service:"); ok {
			dirty[serviceKey{v.Cluster, name}] = true
		}
	case *berthv1.ContainerInstanceRecord:
		key, now := instanceKey{v.Cluster, v.Id}, seenOf(v)
		was, known := c.seen[key]
		if e.Deleted {
			delete(c.seen, key)
		} else {
			c.seen[key] = now
		}
		changed := e.Deleted || !known || was.view != now.view
		if !changed && was.connected == now.connected {
			return
		}
		// An agent coming and going concerns the DAEMON services (one task per
		// connected instance) and those still placing tasks, not a steady
		// REPLICA service: 10,000 agents back after a restart would have had
		// every service decided again for each.
		for _, s := range c.cfg.Store.Services(v.Cluster, live) {
			if changed || !s.Steady || s.Service.SchedulingStrategy == service.Daemon {
				dirty[serviceKey{v.Cluster, s.Service.ServiceName}] = true
			}
		}
	}
}

// instanceSeen is what a service's decision reads of an instance: its
// status and attributes (memberOf) as one string, and whether its agent is
// connected. What its tasks hold changes with every task and is left to the
// periodic resync.
type instanceSeen struct {
	view      string
	connected bool
}

func seenOf(r *berthv1.ContainerInstanceRecord) instanceSeen {
	var b strings.Builder
	b.WriteString(r.Instance.GetStatus())
	for _, a := range r.Instance.GetAttributes() {
		b.WriteString(" " + a.GetName() + "=" + a.GetValue())
	}
	return instanceSeen{view: b.String(), connected: r.Instance.GetAgentConnected()}
}

// seeAll records what services read of every instance, as a watch starts:
// the decisions that follow read the same.
func (c *Controller) seeAll() {
	clear(c.seen)
	clusters, _, _ := c.cfg.Store.Clusters("", 1<<30)
	for _, cl := range clusters {
		for _, in := range c.cfg.Store.ContainerInstances(cl, nil) {
			c.seen[instanceKey{cl, in.Id}] = seenOf(in)
		}
	}
}

// reconcileAll decides for each dirty service, DAEMON services first: on a
// new instance their tasks start before any other service's. The others are
// decided by up to Workers goroutines at once (each service by one only), so
// that one service waiting for its placement to be stored does not hold up
// the rest; reconcileAll returns when every one is done.
func (c *Controller) reconcileAll(ctx context.Context, dirty map[serviceKey]bool) {
	var daemons, replicas []serviceKey
	for k := range dirty {
		if rec, err := c.cfg.Store.Service(k.cluster, k.name); err == nil && rec.Service.SchedulingStrategy == service.Daemon {
			daemons = append(daemons, k)
		} else {
			replicas = append(replicas, k)
		}
	}
	for _, k := range daemons {
		c.reconcileOne(ctx, k)
	}
	sem := make(chan struct{}, c.cfg.Workers)
	var wg sync.WaitGroup
	for _, k := range replicas {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.reconcileOne(ctx, k)
		}()
	}
	wg.Wait()
}

func (c *Controller) reconcileOne(ctx context.Context, k serviceKey) {
	if ctx.Err() != nil {
		return
	}
	if err := c.reconcile(ctx, k); err != nil && ctx.Err() == nil {
		c.cfg.Logger.Warn("service reconcile failed", "cluster", k.cluster, "service", k.name, "err", err)
	}
}
