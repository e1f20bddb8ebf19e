package placement

import (
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// Instance adapts a stored instance to the scheduler's view.
func (p *Placer) Instance(rec *berthv1.ContainerInstanceRecord, groups map[string]int) scheduler.Instance {
	reg, alloc := rec.Registered, rec.Allocated
	in := scheduler.Instance{
		ARN:               p.ARNs.ContainerInstance(rec.Cluster, rec.Id),
		EC2InstanceID:     rec.Instance.GetEc2InstanceId(),
		Status:            rec.Instance.GetStatus(),
		AgentConnected:    rec.Instance.GetAgentConnected(),
		AgentVersion:      rec.Instance.GetVersionInfo().GetAgentVersion(),
		RegisteredAt:      time.Unix(0, int64(rec.Instance.GetRegisteredAt()*1e9)),
		Registered:        Resources(reg),
		Remaining:         Resources(reg).Sub(Resources(alloc)),
		Attributes:        make(map[string]string, len(rec.Instance.GetAttributes())),
		RunningTasksCount: int(rec.RunningTasks),
		TasksByGroup:      groups,
	}
	for _, a := range rec.Instance.GetAttributes() {
		in.Attributes[a.GetName()] = a.GetValue()
	}
	addPorts := func(list []int32, proto scheduler.Protocol) {
		for _, port := range list {
			in.UsedPorts = append(in.UsedPorts, scheduler.Port{HostPort: uint16(port), Protocol: proto})
		}
	}
	addPorts(reg.GetPortsTcp(), scheduler.TCP)
	addPorts(alloc.GetPortsTcp(), scheduler.TCP)
	addPorts(reg.GetPortsUdp(), scheduler.UDP)
	addPorts(alloc.GetPortsUdp(), scheduler.UDP)
	return in
}

// Resources converts stored resources to the scheduler's.
func Resources(r *berthv1.Resources) scheduler.Resources {
	return scheduler.Resources{CPU: int64(r.GetCpu()), Memory: int64(r.GetMemory()), GPU: int64(r.GetGpu())}
}

// Snapshot is the cluster's instances as the scheduler sees them, in id
// order, with each one's instance id (by snapshot index). Given task groups, each
// instance's task counts are of those groups only (what spread and
// distinctInstance read); without, of every group (what memberOf's
// task:group may read).
func (p *Placer) Snapshot(cluster string, groups ...string) (*scheduler.Snapshot, []string) {
	return p.ProviderSnapshot(cluster, "", groups...)
}

// ProviderSnapshot is Snapshot of the instances of one EC2 capacity
// provider (those that carry its attribute), or of all when provider is "".
func (p *Placer) ProviderSnapshot(cluster, provider string, groups ...string) (*scheduler.Snapshot, []string) {
	var counts map[string]map[string]int
	if len(groups) > 0 {
		counts = p.Store.GroupCountsByInstance(cluster, groups...)
	} else {
		counts = p.Store.GroupsByInstance(cluster)
	}
	recs := p.Store.ContainerInstances(cluster, nil)
	ids := make([]string, 0, len(recs))
	list := make([]scheduler.Instance, 0, len(recs))
	p.converted.mu.Lock()
	for _, r := range recs {
		c := p.converted.get(p, r)
		if c.poolHost || provider != "" && c.provider != provider {
			continue // Fargate pool hosts take Fargate tasks only
		}
		in := c.instance
		in.TasksByGroup = counts[r.Id]
		list = append(list, in)
		ids = append(ids, r.Id)
	}
	p.converted.prune(recs)
	p.converted.mu.Unlock()
	return scheduler.NewSnapshot(list), ids
}

// converted keeps each stored instance record as the scheduler sees it
// (without task counts), so that a snapshot of a large cluster converts
// only the instances that changed since the last one. Stored records are
// never modified: a changed instance is a new record.
type converted struct {
	mu    sync.Mutex
	byRec map[*berthv1.ContainerInstanceRecord]conversion
}

type conversion struct {
	instance scheduler.Instance
	poolHost bool
	provider string // the EC2 capacity provider the instance belongs to
}

// get returns rec's conversion, converting it if it is new or changed; the
// caller holds mu.
func (c *converted) get(p *Placer, rec *berthv1.ContainerInstanceRecord) conversion {
	if c.byRec == nil {
		c.byRec = map[*berthv1.ContainerInstanceRecord]conversion{}
	}
	if have, ok := c.byRec[rec]; ok {
		return have
	}
	conv := conversion{instance: p.Instance(rec, nil), poolHost: store.IsPoolHost(rec), provider: store.InstanceAttribute(rec, store.ProviderAttribute)}
	c.byRec[rec] = conv
	return conv
}

// prune forgets the conversions of records the store has replaced once the
// cache holds many more than the snapshot's recs (other clusters' are
// dropped too, and converted again when next needed); the caller holds mu.
func (c *converted) prune(recs []*berthv1.ContainerInstanceRecord) {
	if len(c.byRec) <= 2*len(recs)+64 {
		return
	}
	kept := make(map[*berthv1.ContainerInstanceRecord]conversion, len(recs))
	for _, r := range recs {
		if conv, ok := c.byRec[r]; ok {
			kept[r] = conv
		}
	}
	c.byRec = kept
}
