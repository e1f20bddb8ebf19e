package hostpool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// Defaults for Config.
const (
	DefaultResync       = 2 * time.Second
	DefaultSettle       = 50 * time.Millisecond
	DefaultStartTimeout = 2 * time.Minute
	DefaultBackoff      = 5 * time.Second
)

// DefaultAvailabilityZones are the hosts' zones, in turn.
var DefaultAvailabilityZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// Key names one pool: a cluster and the pool's name in it (the Fargate
// pool's "fargate", a capacity provider's name). A host the Loop starts is
// named after its pool: <pool>-<random hex>.
type Key struct{ Cluster, Pool string }

// Actions is what a Decide said to do in one cluster. The Loop runs them in
// this order: Assign and Drain through the store, then Start and Remove in
// goroutines of their own.
type Actions struct {
	// Assign moves waiting tasks onto instances (the store's AssignTasks,
	// which re-checks fit: a refused task is seen as it is by the next pass).
	Assign []*berthv1.TaskToHost
	// Drain sets instances DRAINING.
	Drain []string
	// Start asks the provisioner for hosts.
	Start []Start
	// Remove deregisters instances, then stops their hosts.
	Remove []Remove
}

// Start is one host to start.
type Start struct {
	Pool        string
	CPU, Memory int
	// Attributes are what the host's agent registers besides
	// berth.pool-host, which the Loop adds.
	Attributes map[string]string
}

// Remove is one instance to deregister and whose host to stop.
type Remove struct {
	Pool     string
	Instance string
	Host     HostID
}

// Starting is a host asked for that has not registered yet.
type Starting struct {
	ID          HostID
	CPU, Memory int
	// Started is when Start returned (zero while it runs).
	Started time.Time
}

// Config is what a Loop needs.
type Config struct {
	// Name says whose loop it is in logs ("Fargate pool").
	Name  string
	Store *store.Store
	// Apply applies a store command (stamped with the time).
	Apply func(context.Context, *berthv1.Command) (any, error)
	// Provisioner starts and stops hosts; nil: none is started or stopped
	// (Start and Remove actions are dropped).
	Provisioner Provisioner
	// Resync is how often every cluster is looked at without a change;
	// Settle how long a pass waits for more changes after the first.
	Resync, Settle time.Duration
	// StartTimeout is how long a started host may take to register before
	// it is stopped and forgotten.
	StartTimeout time.Duration
	// Backoff is how long a pool starts no host after a failed start.
	Backoff           time.Duration
	InstanceType      string
	AvailabilityZones []string
	Now               func() time.Time
	Logger            *slog.Logger

	// Mark marks the cluster a store event concerns, and reports whether
	// it did.
	Mark func(dirty map[string]bool, e store.Event) bool
	// Decide looks at one cluster and returns what to do there. It may read
	// the store and the View, and must not write: the Loop runs the
	// actions. It is only ever called from Run's goroutine.
	Decide func(cluster string, v View) (Actions, error)
	// Removed, when set, is told that a removal ended (well or not), so
	// that the decisions forget the instance.
	Removed func(k Key, instance string)
}

func (cfg Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Resync, DefaultResync)
	def(&cfg.Settle, DefaultSettle)
	def(&cfg.StartTimeout, DefaultStartTimeout)
	def(&cfg.Backoff, DefaultBackoff)
	if len(cfg.AvailabilityZones) == 0 {
		cfg.AvailabilityZones = DefaultAvailabilityZones
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Loop runs a manager of hidden hosts: it wakes on the store's watch, a
// periodic resync and its own goroutines' results, calls Decide for each
// cluster that may have changed, and carries out the actions. It keeps what
// the store does not know: the hosts starting, the instances being removed,
// the back-off after a failed start.
type Loop struct {
	cfg     Config
	results chan result

	mu         sync.Mutex // guards what follows; held by each pass
	starting   map[Key]map[HostID]*Starting
	removing   map[string]bool // cluster/instance
	pauseUntil map[Key]time.Time
	zone       int
	join       atomic.Pointer[[2]string] // control plane address, join token (the token changes when it is rotated)
	work       sync.WaitGroup            // host starts and stops in flight
}

// result is what a start or stop goroutine reports to Run.
type result struct {
	key      Key
	host     HostID
	instance string // stop: the instance removed
	stop     bool
	err      error
}

// New returns a Loop; call Run.
func New(cfg Config) *Loop {
	return &Loop{cfg: cfg.withDefaults(), results: make(chan result, 64),
		starting: map[Key]map[HostID]*Starting{}, removing: map[string]bool{}, pauseUntil: map[Key]time.Time{}}
}

// SetJoin sets the address and token hosts' agents join with (known once
// the control plane listens); call before Run.
func (l *Loop) SetJoin(controlPlane, joinToken string) {
	l.join.Store(&[2]string{controlPlane, joinToken})
}

// Run loops until ctx ends, then waits for the host starts and stops it
// began.
func (l *Loop) Run(ctx context.Context) {
	defer l.work.Wait()
	clusterLoop[result]{store: l.cfg.Store, resync: l.cfg.Resync, settle: l.cfg.Settle, results: l.results,
		handle: l.handle, mark: l.cfg.Mark, pass: l.passAll}.run(ctx)
}

// Starting is the pool's hosts asked for that have not registered yet, by
// id.
func (l *Loop) Starting(cluster, pool string) []Starting {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.startingList(Key{cluster, pool})
}

func (l *Loop) startingList(k Key) []Starting {
	m := l.starting[k]
	out := make([]Starting, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// View is the Loop's own state of one cluster's pools, for Decide.
type View struct {
	l       *Loop
	cluster string
	now     time.Time
}

// Now is the time of the pass.
func (v View) Now() time.Time { return v.now }

// CanProvision reports whether hosts can be started and stopped.
func (v View) CanProvision() bool { return v.l.cfg.Provisioner != nil }

// Starting is the pool's hosts starting, by id.
func (v View) Starting(pool string) []Starting { return v.l.startingList(Key{v.cluster, pool}) }

// Removing reports whether an instance is being removed.
func (v View) Removing(instance string) bool { return v.l.removing[v.cluster+"/"+instance] }

// StartsAfter is when the pool may start hosts again after a failed start
// (zero when it may now).
func (v View) StartsAfter(pool string) time.Time { return v.l.pauseUntil[Key{v.cluster, pool}] }

// handle records a finished start or stop; it returns the cluster.
func (l *Loop) handle(r result) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	log := l.cfg.Logger.With("cluster", r.key.Cluster, "pool", r.key.Pool, "host", r.host)
	switch {
	case r.stop:
		delete(l.removing, r.key.Cluster+"/"+r.instance)
		if l.cfg.Removed != nil {
			l.cfg.Removed(r.key, r.instance)
		}
		if r.err != nil {
			log.Warn(l.cfg.Name+": could not remove a host", "err", r.err)
		}
	case r.err != nil:
		delete(l.starting[r.key], r.host)
		l.pauseUntil[r.key] = l.cfg.Now().Add(l.cfg.Backoff)
		log.Warn(l.cfg.Name+": could not start a host", "err", r.err)
	default:
		if s := l.starting[r.key][r.host]; s != nil {
			s.Started = l.cfg.Now()
		}
	}
	return r.key.Cluster
}

// passAll looks at the dirty clusters (every cluster when nil).
func (l *Loop) passAll(ctx context.Context, dirty map[string]bool) {
	var clusters []string
	if dirty == nil {
		clusters, _, _ = l.cfg.Store.Clusters("", 1<<30)
	} else {
		for c := range dirty {
			clusters = append(clusters, c)
		}
		sort.Strings(clusters)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range clusters {
		if ctx.Err() != nil {
			return
		}
		if err := l.pass(ctx, c); err != nil && ctx.Err() == nil {
			l.cfg.Logger.Warn(l.cfg.Name+" pass failed", "cluster", c, "err", err)
		}
	}
}

// pass is one look at a cluster: forget the hosts that registered, give up
// those that never will, decide, act.
func (l *Loop) pass(ctx context.Context, cluster string) error {
	now := l.cfg.Now()
	for _, in := range l.cfg.Store.ContainerInstances(cluster, nil) {
		if id := HostID(store.InstanceAttribute(in, store.PoolHostAttribute)); id != "" {
			for k, m := range l.starting {
				if k.Cluster == cluster {
					delete(m, id)
				}
			}
		}
	}
	if l.cfg.Provisioner != nil {
		l.giveUpSlowStarts(ctx, cluster, now)
	}
	acts, err := l.cfg.Decide(cluster, View{l: l, cluster: cluster, now: now})
	if err != nil {
		return err
	}
	return l.act(ctx, cluster, acts)
}

// act carries out a cluster's actions.
func (l *Loop) act(ctx context.Context, cluster string, a Actions) error {
	if len(a.Assign) > 0 {
		res, err := l.cfg.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_AssignTasks{AssignTasks: &berthv1.AssignTasksCommand{
			Cluster: cluster, Assignments: a.Assign}}})
		if err != nil {
			return err
		}
		if r, ok := res.(*berthv1.AssignTasksResult); ok && len(r.Failures) > 0 {
			// Stopped meanwhile, or the instance changed: the next pass
			// sees them as they are now.
			l.cfg.Logger.Debug(l.cfg.Name+": assignments refused", "cluster", cluster, "count", len(r.Failures), "first", r.Failures[0].Reason)
		}
	}
	if l.cfg.Provisioner == nil {
		return nil
	}
	if len(a.Drain) > 0 {
		_, err := l.cfg.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateContainerInstancesState{
			UpdateContainerInstancesState: &berthv1.UpdateContainerInstancesStateCommand{Cluster: cluster, Ids: a.Drain, Status: store.StatusDraining},
		}})
		if err != nil {
			l.cfg.Logger.Warn(l.cfg.Name+": could not drain instances", "cluster", cluster, "err", err)
		}
	}
	for _, s := range a.Start {
		l.start(ctx, Key{cluster, s.Pool}, s)
	}
	for _, r := range a.Remove {
		l.remove(ctx, Key{cluster, r.Pool}, r)
	}
	return nil
}

// start asks the provisioner for one host, in a goroutine of its own.
func (l *Loop) start(ctx context.Context, k Key, s Start) {
	join := [2]string{}
	if j := l.join.Load(); j != nil {
		join = *j
	}
	spec := HostSpec{
		ID: HostID(k.Pool + "-" + randomHex(6)), Cluster: k.Cluster, CPU: s.CPU, Memory: s.Memory,
		ControlPlane: join[0], JoinToken: join[1],
		AvailabilityZone: l.cfg.AvailabilityZones[l.zone%len(l.cfg.AvailabilityZones)], InstanceType: l.cfg.InstanceType,
		Attributes: map[string]string{store.PoolHostAttribute: ""},
	}
	for n, v := range s.Attributes {
		spec.Attributes[n] = v
	}
	spec.Attributes[store.PoolHostAttribute] = string(spec.ID)
	l.zone++
	if l.starting[k] == nil {
		l.starting[k] = map[HostID]*Starting{}
	}
	l.starting[k][spec.ID] = &Starting{ID: spec.ID, CPU: s.CPU, Memory: s.Memory}
	l.work.Add(1)
	go func() {
		defer l.work.Done()
		err := l.cfg.Provisioner.Start(ctx, spec)
		l.report(ctx, result{key: k, host: spec.ID, err: err})
	}()
}

// remove deregisters the instance (refused if a task came meanwhile), then
// stops its host, in a goroutine of its own.
func (l *Loop) remove(ctx context.Context, k Key, r Remove) {
	l.removing[k.Cluster+"/"+r.Instance] = true
	l.work.Add(1)
	go func() {
		defer l.work.Done()
		_, err := l.cfg.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeregisterContainerInstance{
			DeregisterContainerInstance: &berthv1.DeregisterContainerInstanceCommand{Cluster: k.Cluster, Id: r.Instance},
		}})
		if apierr.Is(err, apierr.NotFound) {
			err = nil
		}
		if err == nil {
			err = l.cfg.Provisioner.Stop(ctx, r.Host)
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = nil
		}
		l.report(ctx, result{key: k, host: r.Host, instance: r.Instance, stop: true, err: err})
	}()
}

func (l *Loop) report(ctx context.Context, r result) {
	select {
	case l.results <- r:
	case <-ctx.Done():
	}
}

// giveUpSlowStarts stops the cluster's hosts that started but never
// registered.
func (l *Loop) giveUpSlowStarts(ctx context.Context, cluster string, now time.Time) {
	for k, m := range l.starting {
		if k.Cluster != cluster {
			continue
		}
		for id, s := range m {
			if s.Started.IsZero() || now.Sub(s.Started) < l.cfg.StartTimeout {
				continue
			}
			delete(m, id)
			l.cfg.Logger.Warn(l.cfg.Name+": host did not register in time: stopping it", "cluster", cluster, "pool", k.Pool, "host", id, "timeout", l.cfg.StartTimeout)
			l.work.Add(1)
			go func() {
				defer l.work.Done()
				if err := l.cfg.Provisioner.Stop(ctx, id); err != nil && ctx.Err() == nil {
					l.cfg.Logger.Warn(l.cfg.Name+": could not stop a host", "host", id, "err", err)
				}
			}()
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
