package fargate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Defaults for Config.
const (
	DefaultHostCPU      = 4096
	DefaultHostMemory   = 8192
	DefaultCooldown     = 2 * time.Minute
	DefaultResync       = 2 * time.Second
	DefaultStartTimeout = 2 * time.Minute
	DefaultSettle       = 50 * time.Millisecond
	DefaultMaxHosts     = 256
	DefaultInstanceType = "berth.fargate-pool"
	// startBackoff is how long a cluster's pool waits after a failed start.
	startBackoff = 5 * time.Second
)

// DefaultAvailabilityZones are the pool hosts' zones, in turn.
var DefaultAvailabilityZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// Config is what a Manager needs.
type Config struct {
	Store *store.Store
	// Placer adapts instances for the scheduler, builds tasks and applies
	// commands (stamped with the time).
	Placer *placement.Placer
	// Provisioner starts and stops hosts; nil keeps a static pool (hosts
	// that register by themselves are used, none is started or stopped).
	Provisioner hostpool.Provisioner
	// HostCPU (units) and HostMemory (MiB) are the size of a pool host.
	HostCPU, HostMemory int
	// Cooldown is how long a host runs no task before it is removed.
	Cooldown time.Duration
	// Resync is how often every cluster is looked at without a change.
	Resync time.Duration
	// Settle is how long a pass waits for more changes after the first
	// (default 50 ms).
	Settle time.Duration
	// StartTimeout is how long a started host may take to register before
	// it is given up (stopped) and replaced.
	StartTimeout time.Duration
	// MaxHosts bounds a cluster's pool.
	MaxHosts          int
	AvailabilityZones []string
	InstanceType      string
	// ControlPlane and JoinToken are what hosts' agents join with.
	ControlPlane, JoinToken string
	Now                     func() time.Time
	Logger                  *slog.Logger
}

func (cfg Config) withDefaults() Config {
	if cfg.HostCPU <= 0 {
		cfg.HostCPU = DefaultHostCPU
	}
	if cfg.HostMemory <= 0 {
		cfg.HostMemory = DefaultHostMemory
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultCooldown
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = DefaultMaxHosts
	}
	if len(cfg.AvailabilityZones) == 0 {
		cfg.AvailabilityZones = DefaultAvailabilityZones
	}
	if cfg.InstanceType == "" {
		cfg.InstanceType = DefaultInstanceType
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Manager sizes and fills the Fargate pool of every cluster.
type Manager struct {
	cfg     Config
	results chan result

	mu    sync.Mutex // guards pools and zone; held by each pass
	pools map[string]*pool
	zone  int
	work  sync.WaitGroup // host starts and stops in flight
}

// pool is one cluster's pool: what the store does not know of it.
type pool struct {
	// starting are hosts asked for that have not registered yet.
	starting map[hostpool.HostID]*startingHost
	// removing are instances being deregistered and stopped.
	removing map[string]bool
	// idleSince is when each idle host last ran a task (or was first seen).
	idleSince map[string]time.Time
	// pauseUntil holds off new starts after a failure.
	pauseUntil time.Time
	// full: the pool is at MaxHosts and said so (once, until it starts a
	// host again).
	full bool
}

type startingHost struct {
	spec hostpool.HostSpec
	// started is when Start returned (zero while it runs).
	started time.Time
}

// result is what a start or stop goroutine reports to Run.
type result struct {
	cluster  string
	host     hostpool.HostID
	instance string // stop: the instance removed
	stop     bool
	err      error
}

// New returns a Manager; call Run.
func New(cfg Config) *Manager {
	return &Manager{cfg: cfg.withDefaults(), results: make(chan result, 64), pools: map[string]*pool{}}
}

// SetJoin sets the address and token hosts' agents join with (known once
// the control plane listens); call before Run.
func (m *Manager) SetJoin(controlPlane, joinToken string) {
	m.cfg.ControlPlane, m.cfg.JoinToken = controlPlane, joinToken
}

// Run sizes and fills the pools until ctx ends, then waits for the host
// starts and stops it began.
func (m *Manager) Run(ctx context.Context) error {
	defer m.work.Wait()
	if m.cfg.Provisioner == nil {
		m.cfg.Logger.Info("no Fargate provisioner: Fargate tasks wait for pool hosts that register by themselves (attribute " + store.PoolAttribute + "=" + store.PoolFargate + ")")
	}
	hostpool.ClusterLoop[result]{Store: m.cfg.Store, Resync: m.cfg.Resync, Settle: m.cfg.Settle, Results: m.results,
		Handle: m.handle, Mark: markDirty, Pass: m.reconcileAll}.Run(ctx)
	return nil
}

// markDirty marks the cluster of an event that may change its pool: a
// Fargate task, or a pool host.
func markDirty(dirty map[string]bool, e store.Event) bool {
	switch v := e.Value.(type) {
	case *berthv1.TaskRecord:
		if v.GetTask().GetLaunchType() == store.LaunchTypeFargate {
			dirty[v.Cluster] = true
			return true
		}
	case *berthv1.ContainerInstanceRecord:
		if store.IsPoolHost(v) {
			dirty[v.Cluster] = true
			return true
		}
	}
	return false
}

// handle records a finished start or stop; it returns the cluster.
func (m *Manager) handle(r result) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pool(r.cluster)
	switch {
	case r.stop:
		delete(p.removing, r.instance)
		delete(p.idleSince, r.instance)
		if r.err != nil {
			m.cfg.Logger.Warn("could not remove a Fargate pool host", "cluster", r.cluster, "host", r.host, "err", r.err)
		}
	case r.err != nil:
		delete(p.starting, r.host)
		p.pauseUntil = m.cfg.Now().Add(startBackoff)
		m.cfg.Logger.Warn("could not start a Fargate pool host", "cluster", r.cluster, "host", r.host, "err", r.err)
	default:
		if h := p.starting[r.host]; h != nil {
			h.started = m.cfg.Now()
		}
	}
	return r.cluster
}

func (m *Manager) pool(cluster string) *pool {
	p := m.pools[cluster]
	if p == nil {
		p = &pool{starting: map[hostpool.HostID]*startingHost{}, removing: map[string]bool{}, idleSince: map[string]time.Time{}}
		m.pools[cluster] = p
	}
	return p
}

// reconcileAll looks at the dirty clusters (every cluster when nil).
func (m *Manager) reconcileAll(ctx context.Context, dirty map[string]bool) {
	var clusters []string
	if dirty == nil {
		clusters, _, _ = m.cfg.Store.Clusters("", 1<<30)
	} else {
		for c := range dirty {
			clusters = append(clusters, c)
		}
		sort.Strings(clusters)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range clusters {
		if ctx.Err() != nil {
			return
		}
		if err := m.reconcile(ctx, c); err != nil && ctx.Err() == nil {
			m.cfg.Logger.Warn("Fargate pool pass failed", "cluster", c, "err", err)
		}
	}
}

// waitingTasks are the cluster's Fargate tasks waiting for capacity: on no
// instance, PROVISIONING, wanted.
func waitingTasks(st *store.Store, cluster string) []*berthv1.TaskRecord {
	var out []*berthv1.TaskRecord
	for _, t := range st.LiveTasksOn(cluster, "") {
		if t.Task.GetLastStatus() == store.TaskProvisioning && t.Task.GetDesiredStatus() == store.TaskRunning {
			out = append(out, t)
		}
	}
	return out
}

// reconcile is one pass over a cluster's pool: assign, grow, shrink.
func (m *Manager) reconcile(ctx context.Context, cluster string) error {
	p := m.pool(cluster)
	now := m.cfg.Now()
	hosts := m.cfg.Store.ContainerInstances(cluster, store.IsPoolHost)
	for _, h := range hosts {
		delete(p.starting, hostpool.HostID(store.InstanceAttribute(h, store.PoolHostAttribute)))
	}
	waiting := waitingTasks(m.cfg.Store, cluster)
	sort.Slice(waiting, func(i, j int) bool {
		a, b := waiting[i].Task, waiting[j].Task
		if a.CreatedAt != b.CreatedAt {
			return a.CreatedAt < b.CreatedAt
		}
		return waiting[i].Id < waiting[j].Id
	})
	if len(waiting) > 0 {
		var err error
		if waiting, err = m.assign(ctx, cluster, p, hosts, waiting); err != nil {
			return err
		}
		hosts = m.cfg.Store.ContainerInstances(cluster, store.IsPoolHost)
	}
	if m.cfg.Provisioner == nil {
		return nil
	}
	m.giveUpSlowStarts(ctx, cluster, p, now)
	if len(waiting) > 0 && now.After(p.pauseUntil) {
		m.grow(ctx, cluster, p, len(hosts), waiting)
	}
	m.shrink(ctx, cluster, p, hosts, now)
	return nil
}

// sizeGroup is waiting tasks of one size.
type sizeGroup struct {
	need  scheduler.Resources
	tasks []*berthv1.TaskRecord
}

// bySize groups tasks by reservation, largest first: by the larger of
// their CPU and memory as a share of a host (first-fit decreasing by the
// dominant resource packs better than arrival order, or than CPU first when
// the tasks are memory-heavy).
func bySize(tasks []*berthv1.TaskRecord, host scheduler.Resources) []*sizeGroup {
	groups := map[scheduler.Resources]*sizeGroup{}
	var out []*sizeGroup
	for _, t := range tasks {
		need := placement.Resources(t.Reservation)
		g := groups[need]
		if g == nil {
			g = &sizeGroup{need: need}
			groups[need] = g
			out = append(out, g)
		}
		g.tasks = append(g.tasks, t)
	}
	share := func(r scheduler.Resources) (dominant, sum float64) {
		c, m := float64(r.CPU)/float64(max(host.CPU, 1)), float64(r.Memory)/float64(max(host.Memory, 1))
		return max(c, m), c + m
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, si := share(out[i].need)
		dj, sj := share(out[j].need)
		if di != dj {
			return di > dj
		}
		return si > sj
	})
	return out
}

// packStrategy is how tasks are put on pool hosts: berth's multi-resource
// binpack, which fills hosts before opening new ones.
var packStrategy = []scheduler.Strategy{{Type: scheduler.StrategyBinpack, Field: scheduler.FieldResources}}

// pack places each group over the snapshot, largest first, and returns the
// instance ARN each task went to (tasks not placed are absent).
func pack(snap *scheduler.Snapshot, groups []*sizeGroup) (map[*berthv1.TaskRecord]string, error) {
	out := map[*berthv1.TaskRecord]string{}
	for _, g := range groups {
		res, err := snap.Place(scheduler.Request{Group: "fargate", Count: len(g.tasks), Resources: g.need, Strategies: packStrategy, Seed: 1})
		if err != nil {
			return nil, err
		}
		for _, pl := range res.Placements {
			out[g.tasks[pl.Task]] = pl.InstanceARN
		}
	}
	return out, nil
}

// assign puts waiting tasks on the hosts that are up, and returns those
// still waiting.
func (m *Manager) assign(ctx context.Context, cluster string, p *pool, hosts []*berthv1.ContainerInstanceRecord, waiting []*berthv1.TaskRecord) ([]*berthv1.TaskRecord, error) {
	var ready []scheduler.Instance
	ids := map[string]string{}
	for _, h := range hosts {
		if h.Instance.GetStatus() != store.StatusActive || !h.Instance.GetAgentConnected() || p.removing[h.Id] {
			continue
		}
		in := m.cfg.Placer.Instance(h, nil)
		ready = append(ready, in)
		ids[in.ARN] = h.Id
	}
	if len(ready) == 0 {
		return waiting, nil
	}
	placed, err := pack(scheduler.NewSnapshot(ready), bySize(waiting, m.hostSize()))
	if err != nil {
		return waiting, err
	}
	if len(placed) == 0 {
		return waiting, nil
	}
	cmd := &berthv1.AssignTasksCommand{Cluster: cluster}
	var left []*berthv1.TaskRecord
	for _, t := range waiting {
		if arn, ok := placed[t]; ok {
			cmd.Assignments = append(cmd.Assignments, &berthv1.TaskToHost{TaskId: t.Id, InstanceId: ids[arn]})
		} else {
			left = append(left, t)
		}
	}
	res, err := m.cfg.Placer.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_AssignTasks{AssignTasks: cmd}})
	if err != nil {
		return waiting, err
	}
	if r, ok := res.(*berthv1.AssignTasksResult); ok && len(r.Failures) > 0 {
		// Refused: stopped meanwhile, or the host is gone; the next pass
		// sees them as they are now.
		m.cfg.Logger.Debug("Fargate assignments refused", "cluster", cluster, "count", len(r.Failures), "first", r.Failures[0].Reason)
	}
	return left, nil
}

// grow starts the hosts that the waiting tasks need beyond the hosts already
// starting: it packs them over the starting hosts plus hypothetical new ones
// and starts as many new ones as were used. A task larger than the host size
// gets a host of its own size.
func (m *Manager) grow(ctx context.Context, cluster string, p *pool, registered int, waiting []*berthv1.TaskRecord) {
	room := m.cfg.MaxHosts - registered - len(p.starting)
	var list []scheduler.Instance
	for _, id := range sortedHosts(p.starting) {
		spec := p.starting[id].spec
		list = append(list, emptyHost("starting/"+string(id), spec.CPU, spec.Memory))
	}
	hypothetical := min(len(waiting), max(room, 0))
	for i := range hypothetical {
		list = append(list, emptyHost("new/"+strconv.Itoa(i), m.cfg.HostCPU, m.cfg.HostMemory))
	}
	placed, err := pack(scheduler.NewSnapshot(list), bySize(waiting, m.hostSize()))
	if err != nil {
		m.cfg.Logger.Warn("Fargate pool: could not plan capacity", "cluster", cluster, "err", err)
		return
	}
	used := map[string]bool{}
	var oversized []*berthv1.TaskRecord
	for _, t := range waiting {
		arn, ok := placed[t]
		switch {
		case ok:
			used[arn] = true
		case int(t.Reservation.GetCpu()) > m.cfg.HostCPU || int(t.Reservation.GetMemory()) > m.cfg.HostMemory:
			oversized = append(oversized, t)
		}
	}
	n := 0
	for arn := range used {
		if strings.HasPrefix(arn, "new/") {
			n++
		}
	}
	if n == 0 && len(oversized) == 0 {
		if hypothetical == 0 && len(used) == 0 && !p.full {
			p.full = true
			m.cfg.Logger.Warn("Fargate pool is at its maximum size: tasks wait", "cluster", cluster, "max_hosts", m.cfg.MaxHosts, "waiting", len(waiting))
		}
		return
	}
	for range n {
		m.start(ctx, cluster, p, m.cfg.HostCPU, m.cfg.HostMemory)
	}
	for _, t := range oversized {
		if room-n <= 0 {
			break
		}
		n++
		m.start(ctx, cluster, p, max(m.cfg.HostCPU, int(t.Reservation.GetCpu())), max(m.cfg.HostMemory, int(t.Reservation.GetMemory())))
	}
	m.cfg.Logger.Info("Fargate pool growing", "cluster", cluster, "waiting_tasks", len(waiting), "new_hosts", n,
		"starting", len(p.starting), "registered", registered)
}

// hostSize is the configured size of a pool host.
func (m *Manager) hostSize() scheduler.Resources {
	return scheduler.Resources{CPU: int64(m.cfg.HostCPU), Memory: int64(m.cfg.HostMemory)}
}

func emptyHost(arn string, cpu, memory int) scheduler.Instance {
	r := scheduler.Resources{CPU: int64(cpu), Memory: int64(memory)}
	return scheduler.Instance{ARN: arn, Status: scheduler.StatusActive, AgentConnected: true, Registered: r, Remaining: r,
		Attributes: map[string]string{}}
}

func sortedHosts(m map[hostpool.HostID]*startingHost) []hostpool.HostID {
	out := make([]hostpool.HostID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// start asks the provisioner for one host, in a goroutine of its own.
func (m *Manager) start(ctx context.Context, cluster string, p *pool, cpu, memory int) {
	spec := hostpool.HostSpec{
		ID: hostpool.HostID("fargate-" + randomHex(6)), Cluster: cluster, CPU: cpu, Memory: memory,
		ControlPlane: m.cfg.ControlPlane, JoinToken: m.cfg.JoinToken,
		AvailabilityZone: m.cfg.AvailabilityZones[m.zone%len(m.cfg.AvailabilityZones)], InstanceType: m.cfg.InstanceType,
	}
	spec.Attributes = map[string]string{store.PoolAttribute: store.PoolFargate, store.PoolHostAttribute: string(spec.ID)}
	m.zone++
	p.full = false
	p.starting[spec.ID] = &startingHost{spec: spec}
	m.work.Add(1)
	go func() {
		defer m.work.Done()
		err := m.cfg.Provisioner.Start(ctx, spec)
		m.report(ctx, result{cluster: cluster, host: spec.ID, err: err})
	}()
}

func (m *Manager) report(ctx context.Context, r result) {
	select {
	case m.results <- r:
	case <-ctx.Done():
	}
}

// giveUpSlowStarts stops hosts that started but never registered.
func (m *Manager) giveUpSlowStarts(ctx context.Context, cluster string, p *pool, now time.Time) {
	for id, h := range p.starting {
		if h.started.IsZero() || now.Sub(h.started) < m.cfg.StartTimeout {
			continue
		}
		delete(p.starting, id)
		m.cfg.Logger.Warn("Fargate pool host did not register in time: stopping it", "cluster", cluster, "host", id, "timeout", m.cfg.StartTimeout)
		m.work.Add(1)
		go func() {
			defer m.work.Done()
			err := m.cfg.Provisioner.Stop(ctx, id)
			if err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("could not stop a Fargate pool host", "host", id, "err", err)
			}
		}()
	}
}

// shrink removes the hosts that ran no task for the cooldown: deregisters
// the instance (refused if a task came meanwhile), then stops the host.
func (m *Manager) shrink(ctx context.Context, cluster string, p *pool, hosts []*berthv1.ContainerInstanceRecord, now time.Time) {
	live := map[string]bool{}
	for _, h := range hosts {
		live[h.Id] = true
		id := hostpool.HostID(store.InstanceAttribute(h, store.PoolHostAttribute))
		if p.removing[h.Id] || id == "" {
			continue // being removed, or not one of the provisioner's
		}
		if h.RunningTasks+h.PendingTasks > 0 {
			delete(p.idleSince, h.Id)
			continue
		}
		since, ok := p.idleSince[h.Id]
		if !ok {
			p.idleSince[h.Id] = now
			continue
		}
		if now.Sub(since) < m.cfg.Cooldown {
			continue
		}
		p.removing[h.Id] = true
		m.cfg.Logger.Info("Fargate pool host idle: removing it", "cluster", cluster, "host", id, "idle", now.Sub(since).Round(time.Millisecond))
		m.work.Add(1)
		go func(instance string) {
			defer m.work.Done()
			_, err := m.cfg.Placer.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeregisterContainerInstance{
				DeregisterContainerInstance: &berthv1.DeregisterContainerInstanceCommand{Cluster: cluster, Id: instance},
			}})
			if ecserr.Is(err, ecserr.NotFound) {
				err = nil
			}
			if err == nil {
				err = m.cfg.Provisioner.Stop(ctx, id)
			}
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				err = nil
			}
			m.report(ctx, result{cluster: cluster, host: id, instance: instance, stop: true, err: err})
		}(h.Id)
	}
	for id := range p.idleSince {
		if !live[id] {
			delete(p.idleSince, id)
		}
	}
}

// Stats is a cluster's pool at one moment.
type Stats struct {
	// Hosts are registered pool hosts; Starting those asked for that have
	// not registered yet.
	Hosts, Starting int
	// Registered and Reserved are the hosts' capacity and what their tasks
	// hold (CPU units, MiB).
	RegisteredCPU, RegisteredMemory int64
	ReservedCPU, ReservedMemory     int64
	// Waiting counts Fargate tasks waiting for capacity.
	Waiting int
}

// Stats reports a cluster's pool.
func (m *Manager) Stats(cluster string) Stats {
	var s Stats
	registered := map[hostpool.HostID]bool{}
	for _, h := range m.cfg.Store.ContainerInstances(cluster, store.IsPoolHost) {
		registered[hostpool.HostID(store.InstanceAttribute(h, store.PoolHostAttribute))] = true
		s.Hosts++
		s.RegisteredCPU += int64(h.Registered.GetCpu())
		s.RegisteredMemory += int64(h.Registered.GetMemory())
		s.ReservedCPU += int64(h.Allocated.GetCpu())
		s.ReservedMemory += int64(h.Allocated.GetMemory())
	}
	s.Waiting = len(waitingTasks(m.cfg.Store, cluster))
	m.mu.Lock()
	if p := m.pools[cluster]; p != nil {
		for id := range p.starting {
			if !registered[id] { // registered since the last pass
				s.Starting++
			}
		}
	}
	m.mu.Unlock()
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
