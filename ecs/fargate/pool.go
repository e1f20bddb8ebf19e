package fargate

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/scheduler"
)

// PoolConfig is what the pool's decision needs of the configuration.
type PoolConfig struct {
	// HostCPU (units) and HostMemory (MiB) are the size of a pool host.
	HostCPU, HostMemory int
	// Cooldown is how long a host runs no task before it is removed.
	Cooldown time.Duration
	// MaxHosts bounds the pool.
	MaxHosts int
}

// PoolHost is a registered pool host as the decision sees it.
type PoolHost struct {
	Instance string          // the container instance's id
	Host     hostpool.HostID // "" when the provisioner did not start it
	// CPU (units) and Memory (MiB) registered, and what its tasks reserve.
	CPU, Memory                 int64
	ReservedCPU, ReservedMemory int64
	Tasks                       int  // running and pending
	Ready                       bool // ACTIVE, its agent connected
	Removing                    bool // being deregistered and stopped
}

// WaitingTask is a Fargate task waiting for capacity.
type WaitingTask struct {
	ID          string
	CPU, Memory int64
}

// PoolState is one cluster's pool at one moment.
type PoolState struct {
	Hosts    []PoolHost
	Starting []hostpool.Starting
	// Waiting are the tasks waiting for capacity, oldest first.
	Waiting []WaitingTask
	// IdleSince is when each idle host was first seen idle (what the last
	// decision returned).
	IdleSince map[string]time.Time
	// CanProvision: hosts can be started and stopped. Without, the pool is
	// static: tasks are assigned, nothing else.
	CanProvision bool
	// StartsAfter is the back-off after a failed start.
	StartsAfter time.Time
}

// Assignment is a waiting task put on a host that is up.
type Assignment struct{ Task, Instance string }

// HostSize is the size of a host to start.
type HostSize struct{ CPU, Memory int }

// IdleHost is a host that ran no task for the cooldown.
type IdleHost struct {
	PoolHost
	Idle time.Duration
}

// PoolDecision is what to do with one cluster's pool.
type PoolDecision struct {
	Assign []Assignment
	Start  []HostSize
	Stop   []IdleHost
	// IdleSince is the idle hosts' history for the next decision.
	IdleSince map[string]time.Time
	// Waiting counts the tasks left waiting (for hosts starting, to start,
	// or for room the pool cannot make).
	Waiting int
	// Full: tasks wait and the pool, at MaxHosts, can start no host.
	Full bool
}

// DecidePool decides one pass over a cluster's pool:
//
//  1. the waiting tasks go onto the hosts that are up (ready, not being
//     removed), bin-packed with the scheduler's binpack(resources) over
//     their free room, largest first;
//  2. the rest is packed the same way over the hosts starting plus empty
//     hosts of the configured size, and as many of those as were used are
//     started (within MaxHosts); a task larger than the host size that no
//     starting host takes gets a host of its own size;
//  3. hosts started by the provisioner that ran no task for the cooldown
//     are stopped.
//
// It does no I/O and reads no clock: now is the time.
func DecidePool(cfg PoolConfig, s PoolState, now time.Time) PoolDecision {
	d := PoolDecision{IdleSince: map[string]time.Time{}}
	waiting := s.Waiting
	assigned := map[string]int{}
	if len(waiting) > 0 {
		d.Assign, waiting = assignToHosts(cfg, s.Hosts, waiting)
		for _, a := range d.Assign {
			assigned[a.Instance]++
		}
	}
	d.Waiting = len(waiting)
	if !s.CanProvision {
		return d
	}
	if len(waiting) > 0 && now.After(s.StartsAfter) {
		d.Start, d.Full = hostsToStart(cfg, len(s.Hosts), s.Starting, waiting)
	}
	for _, h := range s.Hosts {
		if h.Removing || h.Host == "" {
			continue // being removed, or not one of the provisioner's
		}
		if h.Tasks+assigned[h.Instance] > 0 {
			continue
		}
		since, ok := s.IdleSince[h.Instance]
		switch {
		case !ok:
			d.IdleSince[h.Instance] = now
		case now.Sub(since) < cfg.Cooldown:
			d.IdleSince[h.Instance] = since
		default:
			d.Stop = append(d.Stop, IdleHost{PoolHost: h, Idle: now.Sub(since)})
		}
	}
	return d
}

// assignToHosts packs the waiting tasks onto the hosts that are up; it
// returns the assignments and the tasks still waiting, in order.
func assignToHosts(cfg PoolConfig, hosts []PoolHost, waiting []WaitingTask) ([]Assignment, []WaitingTask) {
	var ready []scheduler.Instance
	for _, h := range hosts {
		if !h.Ready || h.Removing {
			continue
		}
		in := emptyHost(h.Instance, int(h.CPU), int(h.Memory))
		in.Remaining = in.Remaining.Sub(scheduler.Resources{CPU: h.ReservedCPU, Memory: h.ReservedMemory})
		ready = append(ready, in)
	}
	if len(ready) == 0 {
		return nil, waiting
	}
	placed := pack(scheduler.NewSnapshot(ready), bySize(waiting, cfg))
	var out []Assignment
	var left []WaitingTask
	for i, t := range waiting {
		if instance, ok := placed[i]; ok {
			out = append(out, Assignment{Task: t.ID, Instance: instance})
		} else {
			left = append(left, t)
		}
	}
	return out, left
}

// hostsToStart packs the waiting tasks over the hosts starting plus
// hypothetical new ones and returns the new ones used, and whether the
// pool is full.
func hostsToStart(cfg PoolConfig, registered int, starting []hostpool.Starting, waiting []WaitingTask) ([]HostSize, bool) {
	room := cfg.MaxHosts - registered - len(starting)
	var list []scheduler.Instance
	for _, h := range starting {
		list = append(list, emptyHost("starting/"+string(h.ID), h.CPU, h.Memory))
	}
	hypothetical := min(len(waiting), max(room, 0))
	for i := range hypothetical {
		list = append(list, emptyHost("new/"+strconv.Itoa(i), cfg.HostCPU, cfg.HostMemory))
	}
	placed := pack(scheduler.NewSnapshot(list), bySize(waiting, cfg))
	used := map[string]bool{}
	var oversized []WaitingTask
	for i, t := range waiting {
		instance, ok := placed[i]
		switch {
		case ok:
			used[instance] = true
		case int(t.CPU) > cfg.HostCPU || int(t.Memory) > cfg.HostMemory:
			oversized = append(oversized, t)
		}
	}
	n := 0
	for instance := range used {
		if strings.HasPrefix(instance, "new/") {
			n++
		}
	}
	if n == 0 && len(oversized) == 0 {
		return nil, hypothetical == 0 && len(used) == 0
	}
	var out []HostSize
	for range n {
		out = append(out, HostSize{cfg.HostCPU, cfg.HostMemory})
	}
	for _, t := range oversized {
		if room-len(out) <= 0 {
			break
		}
		out = append(out, HostSize{max(cfg.HostCPU, int(t.CPU)), max(cfg.HostMemory, int(t.Memory))})
	}
	return out, false
}

// sizeGroup is the waiting tasks of one size (indexes into waiting).
type sizeGroup struct {
	need  scheduler.Resources
	tasks []int
}

// bySize groups tasks by reservation, largest first: by the larger of
// their CPU and memory as a share of a host (first-fit decreasing by the
// dominant resource packs better than arrival order, or than CPU first when
// the tasks are memory-heavy).
func bySize(tasks []WaitingTask, cfg PoolConfig) []*sizeGroup {
	groups := map[scheduler.Resources]*sizeGroup{}
	var out []*sizeGroup
	for i, t := range tasks {
		need := scheduler.Resources{CPU: t.CPU, Memory: t.Memory}
		g := groups[need]
		if g == nil {
			g = &sizeGroup{need: need}
			groups[need] = g
			out = append(out, g)
		}
		g.tasks = append(g.tasks, i)
	}
	share := func(r scheduler.Resources) (dominant, sum float64) {
		c, m := float64(r.CPU)/float64(max(cfg.HostCPU, 1)), float64(r.Memory)/float64(max(cfg.HostMemory, 1))
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
// instance (its ARN in the snapshot) each task went to, by index; tasks not
// placed are absent.
func pack(snap *scheduler.Snapshot, groups []*sizeGroup) map[int]string {
	out := map[int]string{}
	for _, g := range groups {
		res, err := snap.Place(scheduler.Request{Group: "fargate", Count: len(g.tasks), Resources: g.need, Strategies: packStrategy, Seed: 1})
		if err != nil {
			continue // a request this simple is always valid
		}
		for _, pl := range res.Placements {
			out[g.tasks[pl.Task]] = pl.InstanceARN
		}
	}
	return out
}

func emptyHost(arn string, cpu, memory int) scheduler.Instance {
	r := scheduler.Resources{CPU: int64(cpu), Memory: int64(memory)}
	return scheduler.Instance{ARN: arn, Status: scheduler.StatusActive, AgentConnected: true, Registered: r, Remaining: r,
		Attributes: map[string]string{}}
}
