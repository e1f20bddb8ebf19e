package capacity

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Defaults for Config.
const (
	DefaultInstanceCPU    = 2048
	DefaultInstanceMemory = 4096
	DefaultInstanceType   = "berth.instance-group"
	// DefaultScaleInAfter is how long the reservation stays below the
	// target before instances are removed: ECS's scale-in alarm wants 15
	// minutes of data points.
	DefaultScaleInAfter = 15 * time.Minute
	DefaultMaxInstances = 100
	DefaultResync       = 2 * time.Second
	DefaultSettle       = 50 * time.Millisecond
	DefaultStartTimeout = 2 * time.Minute
	startBackoff        = 5 * time.Second
)

// Config is what a Manager needs.
type Config struct {
	Store *store.Store
	// Placer builds snapshots and applies commands (stamped with the time).
	Placer *placement.Placer
	// Provisioner starts and stops the providers' instances (the instance
	// group); nil: no managed scaling, waiting tasks are placed on instances
	// that register by themselves with the provider's attribute.
	Provisioner hostpool.Provisioner
	// InstanceCPU (units) and InstanceMemory (MiB) are the size of an
	// instance the manager starts.
	InstanceCPU, InstanceMemory int
	InstanceType                string
	AvailabilityZones           []string
	// ScaleInAfter is how long the reservation stays below the target
	// capacity before managed scaling removes instances.
	ScaleInAfter time.Duration
	// MaxInstances bounds each provider's instances in a cluster (ECS's
	// Auto Scaling group maximum).
	MaxInstances int
	// Resync is how often every cluster is looked at without a change;
	// Settle how long a pass waits for more changes after the first.
	Resync, Settle time.Duration
	// StartTimeout is how long a started instance may take to register
	// before it is stopped and forgotten.
	StartTimeout time.Duration
	// ControlPlane and JoinToken are what started instances' agents join
	// with.
	ControlPlane, JoinToken string
	Now                     func() time.Time
	Logger                  *slog.Logger
}

func (cfg Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.InstanceCPU, DefaultInstanceCPU)
	def(&cfg.InstanceMemory, DefaultInstanceMemory)
	def(&cfg.MaxInstances, DefaultMaxInstances)
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&cfg.ScaleInAfter, DefaultScaleInAfter)
	defDur(&cfg.Resync, DefaultResync)
	defDur(&cfg.Settle, DefaultSettle)
	defDur(&cfg.StartTimeout, DefaultStartTimeout)
	if cfg.InstanceType == "" {
		cfg.InstanceType = DefaultInstanceType
	}
	if len(cfg.AvailabilityZones) == 0 {
		cfg.AvailabilityZones = hostpool.DefaultAvailabilityZones
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Manager places the tasks that wait for EC2 capacity providers and, for
// providers with managed scaling, sizes their instance groups: a
// hostpool.Loop whose decision is the scheduler's placement, then
// DecideScaling.
type Manager struct {
	cfg  Config
	loop *hostpool.Loop

	mu     sync.Mutex // guards groups; a pass writes, Usage reads
	groups map[hostpool.Key]*group
}

// group is what the decisions carry from one pass of a provider's instance
// group in a cluster to the next.
type group struct {
	history History
	usage   ProviderUse
}

// New returns a Manager; call Run.
func New(cfg Config) *Manager {
	m := &Manager{cfg: cfg.withDefaults(), groups: map[hostpool.Key]*group{}}
	m.loop = hostpool.New(hostpool.Config{
		Name: "capacity providers", Store: m.cfg.Store, Apply: m.cfg.Placer.Apply, Provisioner: m.cfg.Provisioner,
		Resync: m.cfg.Resync, Settle: m.cfg.Settle, StartTimeout: m.cfg.StartTimeout, Backoff: startBackoff,
		InstanceType: m.cfg.InstanceType, AvailabilityZones: m.cfg.AvailabilityZones, Now: m.cfg.Now, Logger: m.cfg.Logger,
		Mark: markDirty, Decide: m.decide, Removed: m.removed,
	})
	return m
}

// SetJoin sets the address and token started instances join with; call
// before Run.
func (m *Manager) SetJoin(controlPlane, joinToken string) { m.loop.SetJoin(controlPlane, joinToken) }

// Run places waiting tasks and scales the instance groups until ctx ends,
// then waits for the starts and stops it began.
func (m *Manager) Run(ctx context.Context) error {
	m.loop.Run(ctx)
	return nil
}

// markDirty marks the cluster of an event that may concern a provider: a
// task of one, an instance of one, or the cluster's providers.
func markDirty(dirty map[string]bool, e store.Event) bool {
	switch v := e.Value.(type) {
	case *berthv1.TaskRecord:
		if v.GetTask().GetCapacityProviderName() != "" && v.GetTask().GetLaunchType() != store.LaunchTypeFargate {
			dirty[v.Cluster] = true
			return true
		}
	case *berthv1.ContainerInstanceRecord:
		if store.InstanceAttribute(v, store.ProviderAttribute) != "" {
			dirty[v.Cluster] = true
			return true
		}
	case *berthv1.Cluster:
		dirty[v.GetClusterName()] = true
		return true
	}
	return false
}

// removed forgets an instance whose removal ended.
func (m *Manager) removed(k hostpool.Key, instance string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.groups[k]; g != nil {
		delete(g.history.Draining, instance)
	}
}

// decide is one pass over a cluster's EC2 capacity providers: place what
// waits, then scale each instance group toward its target capacity.
func (m *Manager) decide(cluster string, v hostpool.View) (hostpool.Actions, error) {
	var acts hostpool.Actions
	cl, err := m.cfg.Store.Cluster(cluster)
	if err != nil {
		return acts, nil // deleted meanwhile
	}
	waiting := map[string][]*berthv1.TaskRecord{}
	for _, t := range m.cfg.Store.LiveTasksOn(cluster, "") {
		if Waiting(t) {
			waiting[t.Task.CapacityProviderName] = append(waiting[t.Task.CapacityProviderName], t)
		}
	}
	daemons := daemonGroups(m.cfg.Store, cluster)
	for _, name := range cl.GetCapacityProviders() {
		if store.IsBuiltinProvider(name) {
			continue
		}
		cp, err := m.cfg.Store.CapacityProvider(name)
		if err != nil {
			continue
		}
		if err := m.decideGroup(hostpool.Key{Cluster: cluster, Pool: name}, v, cp, waiting[name], daemons, &acts); err != nil {
			return acts, fmt.Errorf("capacity provider %s: %w", name, err)
		}
	}
	return acts, nil
}

// decideGroup places a provider's waiting tasks on its instances, decides
// its scaling with DecideScaling and adds both to acts.
func (m *Manager) decideGroup(k hostpool.Key, v hostpool.View, cp *berthv1.CapacityProvider, waiting []*berthv1.TaskRecord, daemons map[string]bool, acts *hostpool.Actions) error {
	now := v.Now()
	instances := m.cfg.Store.ContainerInstances(k.Cluster, func(r *berthv1.ContainerInstanceRecord) bool {
		return store.InstanceAttribute(r, store.ProviderAttribute) == k.Pool
	})
	assigned := map[string]int{}
	busy := map[string]bool{}
	if len(waiting) > 0 {
		placed, left, err := m.place(k, waiting)
		if err != nil {
			return err
		}
		for _, a := range placed {
			acts.Assign = append(acts.Assign, a.to)
			assigned[a.to.InstanceId]++
			busy[a.to.InstanceId] = busy[a.to.InstanceId] || !daemons[a.task.Task.GetGroup()]
		}
		waiting = left
	}
	st := GroupState{Starting: len(v.Starting(k.Pool)), Size: m.instanceSize(instances), CanProvision: v.CanProvision(), StartsAfter: v.StartsAfter(k.Pool)}
	for _, in := range instances {
		st.Instances = append(st.Instances, GroupInstance{
			ID: in.Id, Host: hostID(in), Status: in.Instance.GetStatus(),
			Busy: busy[in.Id] || runsTasks(m.cfg.Store, in, daemons), Tasks: int(in.RunningTasks+in.PendingTasks) + assigned[in.Id],
			RegisteredAt: in.Instance.GetRegisteredAt(), Removing: v.Removing(in.Id),
			Protected: runsProtected(m.cfg.Store, in, now),
		})
	}
	for _, t := range waiting {
		st.Waiting = append(st.Waiting, need(t))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[k]
	if g == nil {
		g = &group{}
		m.groups[k] = g
	}
	st.History = g.history
	sc := ScalingOf(cp.GetAutoScalingGroupProvider().GetManagedScaling())
	d := DecideScaling(GroupConfig{ScaleInAfter: m.cfg.ScaleInAfter, MaxInstances: m.cfg.MaxInstances}, sc, st, now)
	g.history, g.usage = d.History, d.Use
	log := m.cfg.Logger.With("cluster", k.Cluster, "capacity_provider", k.Pool)
	if d.ScaleOut > 0 {
		log.Info("managed scaling: scaling out", "reservation", Reservation(d.Use.Running, d.Use.Needed), "target", sc.TargetCapacity, "new_instances", d.ScaleOut)
	}
	for range d.ScaleOut {
		acts.Start = append(acts.Start, hostpool.Start{Pool: k.Pool, CPU: int(st.Size.CPU), Memory: int(st.Size.Memory),
			Attributes: map[string]string{store.ProviderAttribute: k.Pool}})
	}
	if len(d.Drain) > 0 {
		log.Info("managed scaling: scaling in", "reservation", Reservation(d.Use.Running, d.Use.Needed), "instances", len(d.Drain))
		acts.Drain = append(acts.Drain, d.Drain...)
	}
	for _, in := range d.Remove {
		acts.Remove = append(acts.Remove, hostpool.Remove{Pool: k.Pool, Instance: in.ID, Host: in.Host})
	}
	return nil
}

// need is what a waiting task needs of an instance.
func need(t *berthv1.TaskRecord) TaskNeed {
	r := t.Reservation
	n := TaskNeed{Group: t.Task.GetGroup(), CPU: int64(r.GetCpu()), Memory: int64(r.GetMemory()),
		Ports: append(append([]int32(nil), r.GetPortsTcp()...), r.GetPortsUdp()...)}
	for _, c := range t.WaitingConstraints {
		n.Distinct = n.Distinct || c.GetType() == scheduler.ConstraintDistinctInstance
	}
	return n
}

// runsTasks reports whether an instance runs a task other than a DAEMON
// service's (ECS counts an instance with only daemon tasks as free).
func runsTasks(st *store.Store, in *berthv1.ContainerInstanceRecord, daemons map[string]bool) bool {
	for _, t := range st.LiveTasksOn(in.Cluster, in.Id) {
		if !daemons[t.Task.GetGroup()] {
			return true
		}
	}
	return false
}

// runsProtected reports whether an instance runs a task whose scale-in
// protection lasts at now.
func runsProtected(st *store.Store, in *berthv1.ContainerInstanceRecord, now time.Time) bool {
	at := float64(now.UnixNano()) / 1e9
	for _, t := range st.LiveTasksOn(in.Cluster, in.Id) {
		if t.ProtectionExpiresAt > at {
			return true
		}
	}
	return false
}

// daemonGroups are the task groups of the cluster's DAEMON services.
func daemonGroups(st *store.Store, cluster string) map[string]bool {
	out := map[string]bool{}
	for _, s := range st.Services(cluster, func(r *berthv1.ServiceRecord) bool { return r.Service.GetSchedulingStrategy() == "DAEMON" }) {
		out["service:"+s.Service.GetServiceName()] = true
	}
	return out
}

// instanceSize is what an instance of the group registers: the largest of
// those registered, else the configured size.
func (m *Manager) instanceSize(instances []*berthv1.ContainerInstanceRecord) scheduler.Resources {
	var r scheduler.Resources
	for _, in := range instances {
		r.CPU = max(r.CPU, int64(in.Registered.GetCpu()))
		r.Memory = max(r.Memory, int64(in.Registered.GetMemory()))
	}
	if r.CPU == 0 || r.Memory == 0 {
		r = scheduler.Resources{CPU: int64(m.cfg.InstanceCPU), Memory: int64(m.cfg.InstanceMemory)}
	}
	return r
}

func hostID(in *berthv1.ContainerInstanceRecord) hostpool.HostID {
	return hostpool.HostID(store.InstanceAttribute(in, store.PoolHostAttribute))
}

// placed is a waiting task placed on an instance.
type placed struct {
	task *berthv1.TaskRecord
	to   *berthv1.TaskToHost
}

// place places waiting tasks on the provider's instances with the rules
// they were run with (the scheduler over a snapshot of them), and returns
// the placements and the tasks still waiting.
func (m *Manager) place(k hostpool.Key, waiting []*berthv1.TaskRecord) ([]placed, []*berthv1.TaskRecord, error) {
	sort.Slice(waiting, func(i, j int) bool {
		if a, b := waiting[i].Task.CreatedAt, waiting[j].Task.CreatedAt; a != b {
			return a < b
		}
		return waiting[i].Id < waiting[j].Id
	})
	snap, ids := m.cfg.Placer.ProviderSnapshot(k.Cluster, k.Pool)
	if len(ids) == 0 {
		return nil, waiting, nil
	}
	explain := len(ids) <= placement.DefaultExplainUpTo
	var out []placed
	var left []*berthv1.TaskRecord
	for _, batch := range alike(waiting) {
		req, err := m.request(batch)
		if err != nil { // the task definition is gone or its rules no longer parse: it cannot be placed
			m.cfg.Logger.Warn("waiting tasks cannot be placed", "cluster", k.Cluster, "capacity_provider", k.Pool, "task", batch[0].Id, "err", err)
			left = append(left, batch...)
			continue
		}
		req.Explain = explain
		res, err := snap.Place(req)
		if err != nil {
			return nil, waiting, err
		}
		done := map[int]bool{}
		for _, pl := range res.Placements {
			done[pl.Task] = true
			out = append(out, placed{task: batch[pl.Task], to: &berthv1.TaskToHost{TaskId: batch[pl.Task].Id, InstanceId: ids[pl.Instance],
				ContainerInstanceArn: pl.InstanceARN, Placement: placement.Explanation(pl.Explanation)}})
		}
		for i, t := range batch {
			if !done[i] {
				left = append(left, t)
			}
		}
	}
	return out, left, nil
}

// alike splits tasks (in order) into batches placed by one request: same
// task definition, group, reservation and rules.
func alike(tasks []*berthv1.TaskRecord) [][]*berthv1.TaskRecord {
	var out [][]*berthv1.TaskRecord
	index := map[string]int{}
	for _, t := range tasks {
		key := fmt.Sprint(t.Task.TaskDefinitionArn, "|", t.Task.Group, "|", t.Reservation, "|", t.WaitingStrategy, "|", t.WaitingConstraints)
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], t)
	}
	return out
}

// request is the scheduler's request for a batch of alike tasks: their
// strategy (or ECS's default for services and for RunTask), their
// constraints and the task definition's.
func (m *Manager) request(batch []*berthv1.TaskRecord) (scheduler.Request, error) {
	first := batch[0]
	td, err := m.cfg.Store.TaskDefinition(first.Family, first.Revision)
	if err != nil {
		return scheduler.Request{}, err
	}
	strategies, constraints, err := placement.Rules(td.TaskDefinition, first.WaitingStrategy, first.WaitingConstraints)
	if err != nil {
		return scheduler.Request{}, err
	}
	if len(strategies) == 0 {
		strategies = scheduler.DefaultRunTaskStrategies()
		if strings.HasPrefix(first.Task.Group, "service:") {
			strategies = scheduler.DefaultServiceStrategies()
		}
	}
	plan := &placement.Plan{Group: first.Task.Group, Need: first.Reservation}
	return plan.Request(len(batch), strategies, constraints), nil
}

// Usage is each EC2 capacity provider's instances running and needed in a
// cluster, as the last pass found them.
func (m *Manager) Usage(cluster string) map[string]ProviderUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]ProviderUse{}
	for k, g := range m.groups {
		if k.Cluster == cluster {
			out[k.Pool] = g.usage
		}
	}
	return out
}
