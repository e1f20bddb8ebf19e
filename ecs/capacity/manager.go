package capacity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/fargate"
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
		cfg.AvailabilityZones = fargate.DefaultAvailabilityZones
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
// providers with managed scaling, sizes their instance groups.
type Manager struct {
	cfg     Config
	results chan result

	mu     sync.Mutex // guards groups and zone; held by each pass
	groups map[groupKey]*group
	zone   int
	work   sync.WaitGroup // instance starts and stops in flight
}

type groupKey struct{ cluster, provider string }

// group is one provider's instance group in one cluster: what the store
// does not know of it.
type group struct {
	// starting are instances asked for that have not registered yet, with
	// when Start returned (zero while it runs).
	starting map[hostpool.HostID]time.Time
	// draining are instances managed scaling set DRAINING to remove them;
	// removing those being deregistered and stopped.
	draining, removing map[string]bool
	// below is since when the reservation has been below the target.
	below time.Time
	// nextScaleOut holds off a scale-out step for the warm-up of the last.
	nextScaleOut time.Time
	usage        ProviderUse
}

type result struct {
	key      groupKey
	host     hostpool.HostID
	instance string
	stop     bool
	err      error
}

// New returns a Manager; call Run.
func New(cfg Config) *Manager {
	return &Manager{cfg: cfg.withDefaults(), results: make(chan result, 64), groups: map[groupKey]*group{}}
}

// SetJoin sets the address and token started instances join with; call
// before Run.
func (m *Manager) SetJoin(controlPlane, joinToken string) {
	m.cfg.ControlPlane, m.cfg.JoinToken = controlPlane, joinToken
}

// Run places waiting tasks and scales the instance groups until ctx ends,
// then waits for the starts and stops it began.
func (m *Manager) Run(ctx context.Context) error {
	defer m.work.Wait()
	hostpool.ClusterLoop[result]{Store: m.cfg.Store, Resync: m.cfg.Resync, Settle: m.cfg.Settle, Results: m.results,
		Handle: m.handle, Mark: markDirty, Pass: m.reconcileAll}.Run(ctx)
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

// handle records a finished start or stop; it returns the cluster.
func (m *Manager) handle(r result) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.group(r.key)
	switch {
	case r.stop:
		delete(g.removing, r.instance)
		delete(g.draining, r.instance)
		if r.err != nil {
			m.cfg.Logger.Warn("could not remove an instance", "cluster", r.key.cluster, "capacity_provider", r.key.provider, "host", r.host, "err", r.err)
		}
	case r.err != nil:
		delete(g.starting, r.host)
		g.nextScaleOut = m.cfg.Now().Add(startBackoff)
		m.cfg.Logger.Warn("could not start an instance", "cluster", r.key.cluster, "capacity_provider", r.key.provider, "host", r.host, "err", r.err)
	default:
		if _, ok := g.starting[r.host]; ok {
			g.starting[r.host] = m.cfg.Now()
		}
	}
	return r.key.cluster
}

func (m *Manager) group(k groupKey) *group {
	g := m.groups[k]
	if g == nil {
		g = &group{starting: map[hostpool.HostID]time.Time{}, draining: map[string]bool{}, removing: map[string]bool{}}
		m.groups[k] = g
	}
	return g
}

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
			m.cfg.Logger.Warn("capacity provider pass failed", "cluster", c, "err", err)
		}
	}
}

// reconcile is one pass over a cluster's EC2 capacity providers: place
// what waits, then scale each instance group toward its target capacity.
func (m *Manager) reconcile(ctx context.Context, cluster string) error {
	cl, err := m.cfg.Store.Cluster(cluster)
	if err != nil {
		return nil // deleted meanwhile
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
		if err := m.reconcileGroup(ctx, groupKey{cluster, name}, cp, waiting[name], daemons); err != nil {
			return fmt.Errorf("capacity provider %s: %w", name, err)
		}
	}
	return nil
}

// providerInstances are the cluster's instances of the provider.
func (m *Manager) providerInstances(k groupKey) []*berthv1.ContainerInstanceRecord {
	return m.cfg.Store.ContainerInstances(k.cluster, func(r *berthv1.ContainerInstanceRecord) bool {
		return store.InstanceAttribute(r, store.ProviderAttribute) == k.provider
	})
}

func (m *Manager) reconcileGroup(ctx context.Context, k groupKey, cp *berthv1.CapacityProvider, waiting []*berthv1.TaskRecord, daemons map[string]bool) error {
	g := m.group(k)
	now := m.cfg.Now()
	instances := m.providerInstances(k)
	for _, in := range instances {
		delete(g.starting, hostID(in))
	}
	if len(waiting) > 0 {
		var err error
		if waiting, err = m.assign(ctx, k, waiting); err != nil {
			return err
		}
		instances = m.providerInstances(k)
	}
	active, busy, idle := 0, 0, []*berthv1.ContainerInstanceRecord{}
	for _, in := range instances {
		if in.Instance.GetStatus() != store.StatusActive || g.draining[in.Id] {
			continue
		}
		active++
		if runsTasks(m.cfg.Store, in, daemons) {
			busy++
		} else if hostID(in) != "" {
			idle = append(idle, in)
		}
	}
	size := m.instanceSize(instances)
	g.usage = ProviderUse{Running: active + len(g.starting), Needed: busy + instancesFor(waiting, size)}
	if m.cfg.Provisioner == nil {
		return nil
	}
	m.giveUpSlowStarts(ctx, g, now)
	m.removeDrained(ctx, k, g, instances)
	ms := cp.GetAutoScalingGroupProvider().GetManagedScaling()
	step := ScalingStep(g.usage.Running, g.usage.Needed, ms)
	if step >= 0 {
		g.below = time.Time{}
	} else if g.below.IsZero() {
		g.below = now
	}
	switch {
	case step > 0 && !now.Before(g.nextScaleOut):
		n := min(step, m.cfg.MaxInstances-g.usage.Running)
		for range n {
			m.start(ctx, k, g, size)
		}
		if n > 0 {
			g.nextScaleOut = now.Add(time.Duration(ms.GetInstanceWarmupPeriod()) * time.Second)
			m.cfg.Logger.Info("managed scaling: scaling out", "cluster", k.cluster, "capacity_provider", k.provider,
				"reservation", Reservation(g.usage.Running, g.usage.Needed), "target", ms.GetTargetCapacity(), "new_instances", n)
		}
	case step < 0 && now.Sub(g.below) >= m.cfg.ScaleInAfter:
		m.drain(ctx, k, g, idle, -step)
	}
	return nil
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

// assign places waiting tasks on the provider's instances with the rules
// they were run with, and returns those still waiting.
func (m *Manager) assign(ctx context.Context, k groupKey, waiting []*berthv1.TaskRecord) ([]*berthv1.TaskRecord, error) {
	sort.Slice(waiting, func(i, j int) bool {
		if a, b := waiting[i].Task.CreatedAt, waiting[j].Task.CreatedAt; a != b {
			return a < b
		}
		return waiting[i].Id < waiting[j].Id
	})
	snap, ids := m.cfg.Placer.ProviderSnapshot(k.cluster, k.provider)
	if len(ids) == 0 {
		return waiting, nil
	}
	explain := len(ids) <= placement.DefaultExplainUpTo
	cmd := &berthv1.AssignTasksCommand{Cluster: k.cluster}
	var left []*berthv1.TaskRecord
	for _, batch := range alike(waiting) {
		req, err := m.request(batch)
		if err != nil { // the task definition is gone or its rules no longer parse: it cannot be placed
			m.cfg.Logger.Warn("waiting tasks cannot be placed", "cluster", k.cluster, "capacity_provider", k.provider, "task", batch[0].Id, "err", err)
			left = append(left, batch...)
			continue
		}
		req.Explain = explain
		res, err := snap.Place(req)
		if err != nil {
			return waiting, err
		}
		placed := map[int]bool{}
		for _, pl := range res.Placements {
			placed[pl.Task] = true
			cmd.Assignments = append(cmd.Assignments, &berthv1.TaskToHost{TaskId: batch[pl.Task].Id, InstanceId: ids[pl.Instance],
				ContainerInstanceArn: pl.InstanceARN, Placement: placement.Explanation(pl.Explanation)})
		}
		for i, t := range batch {
			if !placed[i] {
				left = append(left, t)
			}
		}
	}
	if len(cmd.Assignments) == 0 {
		return left, nil
	}
	res, err := m.cfg.Placer.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_AssignTasks{AssignTasks: cmd}})
	if err != nil {
		return waiting, err
	}
	if r, ok := res.(*berthv1.AssignTasksResult); ok && len(r.Failures) > 0 {
		// Stopped meanwhile, or the instance changed: the next pass sees
		// them as they are now.
		m.cfg.Logger.Debug("assignments refused", "cluster", k.cluster, "count", len(r.Failures), "first", r.Failures[0].Reason)
	}
	return left, nil
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
	family, rev, err := arn.TaskDefinition(first.Task.TaskDefinitionArn)
	if err != nil {
		return scheduler.Request{}, err
	}
	td, err := m.cfg.Store.TaskDefinition(family, rev)
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

// instancesFor is how many empty instances of the size the tasks need,
// packed first-fit decreasing by their larger share of an instance; tasks
// with the same static host port, or of a group with a distinctInstance
// constraint, do not share one. A task larger than the size needs one of
// its own.
func instancesFor(tasks []*berthv1.TaskRecord, size scheduler.Resources) int {
	type bin struct {
		cpu, memory int64
		ports       map[int32]bool
		groups      map[string]bool
	}
	share := func(t *berthv1.TaskRecord) float64 {
		return max(float64(t.Reservation.GetCpu())/float64(max(size.CPU, 1)), float64(t.Reservation.GetMemory())/float64(max(size.Memory, 1)))
	}
	list := append([]*berthv1.TaskRecord(nil), tasks...)
	sort.SliceStable(list, func(i, j int) bool { return share(list[i]) > share(list[j]) })
	var bins []*bin
	n := 0
	for _, t := range list {
		r := t.Reservation
		if int64(r.GetCpu()) > size.CPU || int64(r.GetMemory()) > size.Memory {
			n++
			continue
		}
		distinct := false
		for _, c := range t.WaitingConstraints {
			distinct = distinct || c.GetType() == scheduler.ConstraintDistinctInstance
		}
		ports := append(append([]int32(nil), r.GetPortsTcp()...), r.GetPortsUdp()...)
		fits := func(b *bin) bool {
			if b.cpu+int64(r.GetCpu()) > size.CPU || b.memory+int64(r.GetMemory()) > size.Memory || distinct && b.groups[t.Task.Group] {
				return false
			}
			for _, p := range ports {
				if b.ports[p] {
					return false
				}
			}
			return true
		}
		var chosen *bin
		for _, b := range bins {
			if fits(b) {
				chosen = b
				break
			}
		}
		if chosen == nil {
			chosen = &bin{ports: map[int32]bool{}, groups: map[string]bool{}}
			bins = append(bins, chosen)
		}
		chosen.cpu += int64(r.GetCpu())
		chosen.memory += int64(r.GetMemory())
		for _, p := range ports {
			chosen.ports[p] = true
		}
		chosen.groups[t.Task.Group] = true
	}
	return n + len(bins)
}

// start asks the provisioner for one instance of the group, in a goroutine
// of its own.
func (m *Manager) start(ctx context.Context, k groupKey, g *group, size scheduler.Resources) {
	spec := hostpool.HostSpec{
		ID: hostpool.HostID(k.provider + "-" + randomHex(6)), Cluster: k.cluster, CPU: int(size.CPU), Memory: int(size.Memory),
		ControlPlane: m.cfg.ControlPlane, JoinToken: m.cfg.JoinToken,
		AvailabilityZone: m.cfg.AvailabilityZones[m.zone%len(m.cfg.AvailabilityZones)], InstanceType: m.cfg.InstanceType,
	}
	spec.Attributes = map[string]string{store.ProviderAttribute: k.provider, store.PoolHostAttribute: string(spec.ID)}
	m.zone++
	g.starting[spec.ID] = time.Time{}
	m.work.Add(1)
	go func() {
		defer m.work.Done()
		err := m.cfg.Provisioner.Start(ctx, spec)
		m.report(ctx, result{key: k, host: spec.ID, err: err})
	}()
}

func (m *Manager) report(ctx context.Context, r result) {
	select {
	case m.results <- r:
	case <-ctx.Done():
	}
}

// giveUpSlowStarts stops instances that started but never registered.
func (m *Manager) giveUpSlowStarts(ctx context.Context, g *group, now time.Time) {
	for id, started := range g.starting {
		if started.IsZero() || now.Sub(started) < m.cfg.StartTimeout {
			continue
		}
		delete(g.starting, id)
		m.cfg.Logger.Warn("instance did not register in time: stopping it", "host", id, "timeout", m.cfg.StartTimeout)
		m.work.Add(1)
		go func() {
			defer m.work.Done()
			if err := m.cfg.Provisioner.Stop(ctx, id); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("could not stop an instance", "host", id, "err", err)
			}
		}()
	}
}

// drain sets up to n idle instances DRAINING, the longest-registered last
// (as ECS's managed draining does before it terminates them): DAEMON tasks
// stop, and no task is placed there any more.
func (m *Manager) drain(ctx context.Context, k groupKey, g *group, idle []*berthv1.ContainerInstanceRecord, n int) {
	sort.Slice(idle, func(i, j int) bool { return idle[i].Instance.GetRegisteredAt() > idle[j].Instance.GetRegisteredAt() })
	idle = idle[:min(n, len(idle))]
	if len(idle) == 0 {
		return
	}
	ids := make([]string, len(idle))
	for i, in := range idle {
		ids[i] = in.Id
	}
	_, err := m.cfg.Placer.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_UpdateContainerInstancesState{
		UpdateContainerInstancesState: &berthv1.UpdateContainerInstancesStateCommand{Cluster: k.cluster, Ids: ids, Status: store.StatusDraining},
	}})
	if err != nil {
		m.cfg.Logger.Warn("managed scaling: could not drain instances", "cluster", k.cluster, "capacity_provider", k.provider, "err", err)
		return
	}
	for _, id := range ids {
		g.draining[id] = true
	}
	g.below = m.cfg.Now() // the next step waits for another full period
	m.cfg.Logger.Info("managed scaling: scaling in", "cluster", k.cluster, "capacity_provider", k.provider,
		"reservation", Reservation(g.usage.Running, g.usage.Needed), "instances", len(ids))
}

// removeDrained deregisters and stops the instances it drained once they
// run no task.
func (m *Manager) removeDrained(ctx context.Context, k groupKey, g *group, instances []*berthv1.ContainerInstanceRecord) {
	live := map[string]bool{}
	for _, in := range instances {
		live[in.Id] = true
		if !g.draining[in.Id] || g.removing[in.Id] || in.RunningTasks+in.PendingTasks > 0 {
			continue
		}
		if in.Instance.GetStatus() != store.StatusDraining { // reactivated by someone: keep it
			delete(g.draining, in.Id)
			continue
		}
		g.removing[in.Id] = true
		id := hostID(in)
		m.work.Add(1)
		go func(instance string) {
			defer m.work.Done()
			_, err := m.cfg.Placer.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeregisterContainerInstance{
				DeregisterContainerInstance: &berthv1.DeregisterContainerInstanceCommand{Cluster: k.cluster, Id: instance},
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
			m.report(ctx, result{key: k, host: id, instance: instance, stop: true, err: err})
		}(in.Id)
	}
	for id := range g.draining {
		if !live[id] && !g.removing[id] {
			delete(g.draining, id)
		}
	}
}

// Usage is each EC2 capacity provider's instances running and needed in a
// cluster, as the last pass found them.
func (m *Manager) Usage(cluster string) map[string]ProviderUse {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]ProviderUse{}
	for k, g := range m.groups {
		if k.cluster == cluster {
			out[k.provider] = g.usage
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
