package dispatcher

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// Defaults for Config.
const (
	DefaultHeartbeatPeriod = 5 * time.Second
	DefaultTTL             = 15 * time.Second
	DefaultRestartGrace    = 2 * time.Minute
)

// Config is what a Dispatcher needs.
type Config struct {
	Store *store.Store
	ARNs  arn.Namer
	// HeartbeatPeriod is how often agents heartbeat; TTL how long one may be
	// silent before it is cut off (and, after as long again, its tasks lost).
	HeartbeatPeriod time.Duration
	TTL             time.Duration
	// RestartGrace is how long the agents of a control plane that starts
	// have to come back before their tasks are lost (never less than the
	// TTL). Reconnecting is not instant: 10,000 agents take about 20 s.
	RestartGrace time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// ImagePulls, if set, says how the agent gets the images of a task
	// definition that live in berth's registry (ECR) or need registry
	// credentials, sent with each assignment. Its error (a credential that
	// could not be had) goes with the assignment too, as the reason the
	// agent stops the task with before any container starts.
	ImagePulls func(context.Context, *berthv1.TaskDefinition) ([]*berthv1.ImagePull, error)
	// Inside, if set, fills in what a task that is to run gets from the
	// control plane beyond its definition (role credentials, the front
	// door's address, resolved secrets), after ImagePulls; like ImagePulls'
	// error, a reason it leaves in ImagePullsError stops the task before
	// any container starts.
	Inside func(context.Context, *berthv1.TaskRecord, *berthv1.TaskAssignment)
	// Metrics, if set, takes the task usage a heartbeat carries, with the
	// ARN of the instance that sent it, on the session's receiving
	// goroutine: it must not block.
	Metrics func(instanceARN string, m []*berthv1.TaskMetrics)
}

// Dispatcher serves berthv1.AgentSessions.
type Dispatcher struct {
	berthv1.UnimplementedAgentSessionsServer
	cfg Config

	heartbeats atomic.Uint64
	// closing is set by CutAll: the control plane is shutting down, and the
	// agents are gone because it cut them, not lost.
	closing atomic.Bool

	mu       sync.Mutex
	sessions map[string]*session  // by instance key cluster\x00id
	offline  map[string]departure // instances whose agent left, by instance key

	// instanceLocks order each instance's registrations and departures
	// (lockInstance). Many, so that the departures of all sessions at a
	// shutdown (a store write each, made holding the lock) go to the store
	// together, in a few transactions, not 64 at a time: 10,000 sessions
	// took longer than the shutdown's grace with 64.
	instanceLocks [1024]sync.Mutex

	logsMu sync.Mutex
	logs   map[string]*logRequest // LogsRequests waiting for their TaskLogs call, by request id

	execMu sync.Mutex
	execs  map[string]*execRequest // ExecRequests waiting for their TaskExec call, by request id
}

// departure is when an offline instance's tasks are lost, and how long its
// agent will have been away then.
type departure struct {
	lostAt time.Time
	away   time.Duration
}

// New returns a Dispatcher; call Run to start its background work.
func New(cfg Config) *Dispatcher {
	if cfg.HeartbeatPeriod <= 0 {
		cfg.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.RestartGrace <= 0 {
		cfg.RestartGrace = DefaultRestartGrace
	}
	cfg.RestartGrace = max(cfg.RestartGrace, cfg.TTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, sessions: map[string]*session{}, offline: map[string]departure{}, logs: map[string]*logRequest{}, execs: map[string]*execRequest{}}
}

// Heartbeats is how many heartbeats agents have sent.
func (d *Dispatcher) Heartbeats() uint64 { return d.heartbeats.Load() }

// Sessions is how many agent sessions are open.
func (d *Dispatcher) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sessions)
}

func instanceKey(cluster, id string) string { return cluster + "\x00" + id }

// Run fans committed task changes out to sessions and reaps silent agents
// until ctx ends. Every instance starts without a session: its agent has the
// restart grace to come back before its tasks are lost.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.markAllOffline()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); d.fanOut(ctx) }()
	go func() { defer wg.Done(); d.reap(ctx) }()
	wg.Wait()
	return nil
}

// markAllOffline gives every registered instance that has no session the
// restart grace.
func (d *Dispatcher) markAllOffline() {
	clusters, _, _ := d.cfg.Store.Clusters("", 1<<30)
	dep := departure{lostAt: d.cfg.Now().Add(d.cfg.RestartGrace), away: d.cfg.RestartGrace}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range clusters {
		for _, in := range d.cfg.Store.ContainerInstances(c, nil) {
			if key := instanceKey(c, in.Id); d.sessions[key] == nil {
				d.offline[key] = dep
			}
		}
	}
}

// CutAll ends every session, for a shutdown of the control plane. From
// then on no instance's tasks are declared lost: storing 10,000 sessions'
// departures can outlast the TTL, and the next control plane gives every
// agent a TTL to come back.
func (d *Dispatcher) CutAll() {
	d.closing.Store(true)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.sessions {
		s.cutOff()
	}
}

// fanOut delivers each committed task change to its instance's session.
func (d *Dispatcher) fanOut(ctx context.Context) {
	for ctx.Err() == nil {
		events := d.cfg.Store.Watch(ctx)
		d.resyncAll() // anything before this watch may have been missed
		for e := range events {
			if e.Kind == store.KindContainerInstance && e.Deleted {
				d.deregistered(e.Value.(*berthv1.ContainerInstanceRecord))
				continue
			}
			if e.Kind != store.KindTask {
				continue
			}
			rec := e.Value.(*berthv1.TaskRecord)
			d.mu.Lock()
			s := d.sessions[instanceKey(rec.Cluster, rec.InstanceId)]
			d.mu.Unlock()
			if s != nil {
				s.notify(rec)
			}
		}
	}
}

func (d *Dispatcher) resyncAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.sessions {
		s.requestResync()
	}
}

// reap cuts off sessions silent past the TTL and declares lost the tasks of
// instances offline past their time.
func (d *Dispatcher) reap(ctx context.Context) {
	tick := time.NewTicker(d.cfg.TTL / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d.closing.Load() {
			continue
		}
		now := d.cfg.Now()
		lost := map[string]departure{}
		d.mu.Lock()
		for _, s := range d.sessions {
			if now.Sub(s.lastSeen()) > d.cfg.TTL {
				s.cutOff()
			}
		}
		for key, dep := range d.offline {
			if now.After(dep.lostAt) {
				lost[key] = dep
				delete(d.offline, key)
			}
		}
		d.mu.Unlock()
		for key, dep := range lost {
			d.loseTasks(ctx, key, dep.away)
		}
	}
}

// loseTasks marks an offline instance's tasks STOPPED.
func (d *Dispatcher) loseTasks(ctx context.Context, key string, away time.Duration) {
	cluster, id := splitKey(key)
	reason := "Task lost: the container instance's agent was disconnected for more than " + away.String()
	_, err := d.cfg.Store.Apply(ctx, &berthv1.Command{At: epoch(d.cfg.Now()), Change: &berthv1.Command_SetAgentConnected{
		SetAgentConnected: &berthv1.SetAgentConnectedCommand{Cluster: cluster, Id: id, Connected: false, LostTasksReason: reason},
	}})
	if err != nil && ctx.Err() == nil && !ecserr.Is(err, ecserr.NotFound) { // NotFound: deregistered meanwhile
		d.cfg.Logger.Warn("could not mark tasks lost", "cluster", cluster, "instance", id, "err", err)
	}
}

func splitKey(key string) (cluster, id string) {
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
