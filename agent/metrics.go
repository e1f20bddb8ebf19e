package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	rt "github.com/berth/berth/agent/runtime"
)

// statsTimeout bounds one container's stats call: the daemon takes a
// moment to sample (one-shot stats skip its second read, not the cgroup's).
const statsTimeout = 5 * time.Second

// metricsSampler samples the running tasks' CPU and memory once a heartbeat
// period, for the heartbeats to carry: Docker's one-shot stats of each
// running container, one call at a time (the cost is one stats call per
// container per period), CPU from the difference between two samples; or a
// hollow runtime's synthetic load. The heartbeat takes the latest sample
// without waiting.
type metricsSampler struct {
	rt       rt.Runtime
	instance string
	log      *slog.Logger

	mu      sync.Mutex
	limits  map[string]reserved // by task ARN, from the assignments
	latest  []*berthv1.TaskMetrics
	prevCPU map[string]cpuMark // by container id
}

type reserved struct{ cpu, memory int32 }

type cpuMark struct {
	total, system uint64
	read          time.Time
}

func newMetricsSampler(r rt.Runtime, instance string, log *slog.Logger) *metricsSampler {
	return &metricsSampler{rt: r, instance: instance, log: log, limits: map[string]reserved{}, prevCPU: map[string]cpuMark{}}
}

// reservation is what a task reserves: the task's size, else the sum of its
// containers' (hard memory limits, else their reservations).
func reservation(l *berthv1.TaskLimits) reserved {
	r := reserved{cpu: l.GetCpu(), memory: l.GetMemory()}
	var cpu, mem int32
	for _, c := range l.GetContainers() {
		cpu += c.GetCpu()
		if c.GetMemory() > 0 {
			mem += c.GetMemory()
		} else {
			mem += c.GetMemoryReservation()
		}
	}
	if r.cpu <= 0 {
		r.cpu = cpu
	}
	if r.memory <= 0 {
		r.memory = mem
	}
	return r
}

// assigned notes the reservations of the tasks an assignment carries.
func (m *metricsSampler) assigned(as *berthv1.Assignments) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range as.GetTasks() {
		arn := t.GetTask().GetTaskArn()
		switch {
		case arn == "":
		case t.GetTask().GetDesiredStatus() == "STOPPED":
			delete(m.limits, arn) // forget the tasks that stop
		case t.GetLimits() != nil:
			m.limits[arn] = reservation(t.GetLimits())
		}
	}
}

// Latest is the last sample, for a heartbeat.
func (m *metricsSampler) Latest() []*berthv1.TaskMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latest
}

// run samples once a period until ctx ends.
func (m *metricsSampler) run(ctx context.Context, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		m.sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *metricsSampler) sample(ctx context.Context) {
	cs, err := m.rt.List(ctx, map[string]string{rt.LabelInstanceARN: m.instance})
	if err != nil {
		m.log.Debug("metrics: list containers", "err", err)
		return
	}
	byTask := map[string][]rt.ContainerSummary{}
	for _, c := range cs {
		if t := c.Labels[rt.LabelTaskARN]; t != "" && c.Status == rt.StatusRunning {
			byTask[t] = append(byTask[t], c)
		}
	}
	m.mu.Lock()
	if len(m.limits) > 4*len(byTask)+1000 { // tasks that left without a STOPPED assignment
		maps.DeleteFunc(m.limits, func(t string, _ reserved) bool { _, ok := byTask[t]; return !ok })
	}
	limits := maps.Clone(m.limits)
	m.mu.Unlock()

	synthetic, _ := m.rt.(rt.SyntheticLoader)
	statser, _ := m.rt.(rt.Statser)
	seen := map[string]cpuMark{}
	var out []*berthv1.TaskMetrics
	for task, containers := range byTask {
		res := limits[task]
		tm := &berthv1.TaskMetrics{TaskArn: task, CpuReserved: res.cpu, MemoryReservedMib: res.memory}
		switch {
		case synthetic != nil:
			cpuPct, memPct := synthetic.SyntheticLoad()
			tm.CpuUsed = float64(res.cpu) * cpuPct / 100
			tm.MemoryUsedMib = float64(res.memory) * memPct / 100
		case statser != nil:
			for _, c := range containers {
				cm, mark, ok := m.containerStats(ctx, statser, c)
				if !ok {
					continue
				}
				seen[c.ID] = mark
				tm.Containers = append(tm.Containers, cm)
				tm.CpuUsed += cm.CpuUsed
				tm.MemoryUsedMib += cm.MemoryUsedMib
			}
		default:
			continue
		}
		out = append(out, tm)
	}
	m.mu.Lock()
	if statser != nil && synthetic == nil {
		m.prevCPU = seen
	}
	m.latest = out
	m.mu.Unlock()
}

// dockerStats is the part of the Engine API's stats that the sampler reads.
type dockerStats struct {
	Read     time.Time `json:"read"`
	CPUStats struct {
		CPUUsage struct {
			TotalUsage uint64 `json:"total_usage"`
		} `json:"cpu_usage"`
		SystemUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs  uint32 `json:"online_cpus"`
	} `json:"cpu_stats"`
	MemoryStats struct {
		Usage uint64            `json:"usage"`
		Stats map[string]uint64 `json:"stats"`
	} `json:"memory_stats"`
}

// containerStats is one container's sample: CPU units in use since the
// previous sample (the first sample of a container reports none), memory in
// use without the page cache Docker's CLI leaves out too (inactive_file on
// cgroup v2, total_inactive_file on v1).
func (m *metricsSampler) containerStats(ctx context.Context, st rt.Statser, c rt.ContainerSummary) (*berthv1.ContainerMetrics, cpuMark, bool) {
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	b, err := st.Stats(ctx, c.ID)
	if err != nil {
		m.log.Debug("metrics: stats", "container", c.ID, "err", err)
		return nil, cpuMark{}, false
	}
	var ds dockerStats
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, cpuMark{}, false
	}
	return usage(c.Labels[rt.LabelContainerName], ds, m.prev(c.ID))
}

func (m *metricsSampler) prev(id string) cpuMark {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.prevCPU[id]
}

// usage turns a stats document and the container's previous CPU mark into a
// sample: CPU units = cores busy x 1,024, cores busy = the container's CPU
// time over the host's (system_cpu_usage counts every CPU) x online CPUs, or
// over the wall time between reads when the daemon gives no system usage.
func usage(name string, ds dockerStats, prev cpuMark) (*berthv1.ContainerMetrics, cpuMark, bool) {
	mark := cpuMark{total: ds.CPUStats.CPUUsage.TotalUsage, system: ds.CPUStats.SystemUsage, read: ds.Read}
	mem := ds.MemoryStats.Usage
	inactive := ds.MemoryStats.Stats["inactive_file"]
	if v, ok := ds.MemoryStats.Stats["total_inactive_file"]; ok {
		inactive = v
	}
	if inactive < mem {
		mem -= inactive
	}
	cm := &berthv1.ContainerMetrics{Name: name, MemoryUsedMib: float64(mem) / (1 << 20)}
	if prev.total == 0 || mark.total < prev.total {
		return cm, mark, true
	}
	dTotal := float64(mark.total - prev.total)
	var cores float64
	switch {
	case mark.system > prev.system && ds.CPUStats.OnlineCPUs > 0:
		cores = dTotal / float64(mark.system-prev.system) * float64(ds.CPUStats.OnlineCPUs)
	case mark.read.After(prev.read):
		cores = dTotal / float64(mark.read.Sub(prev.read).Nanoseconds())
	}
	cm.CpuUsed = cores * 1024
	return cm, mark, true
}
