package fargate

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/hostpool"
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
var DefaultAvailabilityZones = hostpool.DefaultAvailabilityZones

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

// Manager sizes and fills the Fargate pool of every cluster: a
// hostpool.Loop whose decision is DecidePool.
type Manager struct {
	cfg  Config
	loop *hostpool.Loop

	mu    sync.Mutex // guards pools; a pass writes, Stats reads
	pools map[string]*poolHistory
}

// poolHistory is what the decisions carry from one pass of a cluster's pool
// to the next.
type poolHistory struct {
	idleSince map[string]time.Time
	// full: the pool is at MaxHosts and said so (once, until it starts a
	// host again).
	full bool
}

// New returns a Manager; call Run.
func New(cfg Config) *Manager {
	m := &Manager{cfg: cfg.withDefaults(), pools: map[string]*poolHistory{}}
	m.loop = hostpool.New(hostpool.Config{
		Name: "Fargate pool", Store: m.cfg.Store, Apply: m.cfg.Placer.Apply, Provisioner: m.cfg.Provisioner,
		Resync: m.cfg.Resync, Settle: m.cfg.Settle, StartTimeout: m.cfg.StartTimeout, Backoff: startBackoff,
		InstanceType: m.cfg.InstanceType, AvailabilityZones: m.cfg.AvailabilityZones, Now: m.cfg.Now, Logger: m.cfg.Logger,
		Mark: markDirty, Decide: m.decide, Removed: m.removed,
	})
	return m
}

// SetJoin sets the address and token hosts' agents join with (known once
// the control plane listens); call before Run.
func (m *Manager) SetJoin(controlPlane, joinToken string) { m.loop.SetJoin(controlPlane, joinToken) }

// Run sizes and fills the pools until ctx ends, then waits for the host
// starts and stops it began.
func (m *Manager) Run(ctx context.Context) error {
	if m.cfg.Provisioner == nil {
		m.cfg.Logger.Info("no Fargate provisioner: Fargate tasks wait for pool hosts that register by themselves (attribute " + store.PoolAttribute + "=" + store.PoolFargate + ")")
	}
	m.loop.Run(ctx)
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

// removed forgets a host whose removal ended.
func (m *Manager) removed(k hostpool.Key, instance string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.pools[k.Cluster]; h != nil {
		delete(h.idleSince, instance)
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

// poolName is the Fargate pool's name in hostpool's keys (and the prefix
// of its hosts' ids).
const poolName = "fargate"

// decide reads a cluster's pool from the store, decides with DecidePool and
// returns the actions.
func (m *Manager) decide(cluster string, v hostpool.View) (hostpool.Actions, error) {
	now := v.Now()
	st := PoolState{Starting: v.Starting(poolName), CanProvision: v.CanProvision(), StartsAfter: v.StartsAfter(poolName)}
	for _, h := range m.cfg.Store.ContainerInstances(cluster, store.IsPoolHost) {
		st.Hosts = append(st.Hosts, PoolHost{
			Instance: h.Id, Host: hostpool.HostID(store.InstanceAttribute(h, store.PoolHostAttribute)),
			CPU: int64(h.Registered.GetCpu()), Memory: int64(h.Registered.GetMemory()),
			ReservedCPU: int64(h.Allocated.GetCpu()), ReservedMemory: int64(h.Allocated.GetMemory()),
			Tasks: int(h.RunningTasks + h.PendingTasks),
			Ready: h.Instance.GetStatus() == store.StatusActive && h.Instance.GetAgentConnected(), Removing: v.Removing(h.Id),
		})
	}
	waiting := waitingTasks(m.cfg.Store, cluster)
	sort.Slice(waiting, func(i, j int) bool {
		a, b := waiting[i].Task, waiting[j].Task
		if a.CreatedAt != b.CreatedAt {
			return a.CreatedAt < b.CreatedAt
		}
		return waiting[i].Id < waiting[j].Id
	})
	for _, t := range waiting {
		st.Waiting = append(st.Waiting, WaitingTask{ID: t.Id, CPU: int64(t.Reservation.GetCpu()), Memory: int64(t.Reservation.GetMemory())})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	hist := m.pools[cluster]
	if hist == nil {
		hist = &poolHistory{}
		m.pools[cluster] = hist
	}
	st.IdleSince = hist.idleSince
	d := DecidePool(m.poolConfig(), st, now)
	hist.idleSince = d.IdleSince
	return m.actions(cluster, hist, st, d), nil
}

func (m *Manager) poolConfig() PoolConfig {
	return PoolConfig{HostCPU: m.cfg.HostCPU, HostMemory: m.cfg.HostMemory, Cooldown: m.cfg.Cooldown, MaxHosts: m.cfg.MaxHosts}
}

// actions turns a decision into the loop's actions, and says what it does.
func (m *Manager) actions(cluster string, hist *poolHistory, st PoolState, d PoolDecision) hostpool.Actions {
	var a hostpool.Actions
	for _, as := range d.Assign {
		a.Assign = append(a.Assign, &berthv1.TaskToHost{TaskId: as.Task, InstanceId: as.Instance})
	}
	attrs := map[string]string{store.PoolAttribute: store.PoolFargate}
	for _, h := range d.Start {
		a.Start = append(a.Start, hostpool.Start{Pool: poolName, CPU: h.CPU, Memory: h.Memory, Attributes: attrs})
	}
	if len(d.Start) > 0 {
		hist.full = false
		m.cfg.Logger.Info("Fargate pool growing", "cluster", cluster, "waiting_tasks", len(st.Waiting)-len(d.Assign), "new_hosts", len(d.Start),
			"starting", len(st.Starting), "registered", len(st.Hosts))
	}
	if d.Full && !hist.full {
		hist.full = true
		m.cfg.Logger.Warn("Fargate pool is at its maximum size: tasks wait", "cluster", cluster, "max_hosts", m.cfg.MaxHosts, "waiting", d.Waiting)
	}
	for _, h := range d.Stop {
		m.cfg.Logger.Info("Fargate pool host idle: removing it", "cluster", cluster, "host", h.Host, "idle", h.Idle.Round(time.Millisecond))
		a.Remove = append(a.Remove, hostpool.Remove{Pool: poolName, Instance: h.Instance, Host: h.Host})
	}
	return a
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
	for _, h := range m.loop.Starting(cluster, poolName) {
		if !registered[h.ID] { // registered since the last pass
			s.Starting++
		}
	}
	return s
}
