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
// order, with the map from instance ARN back to id. Given task groups, each
// instance's task counts are of those groups only (what spread and
// distinctInstance read); without, of every group (what memberOf's
// task:group may read).
func (p *Placer) Snapshot(cluster string, groups ...string) (*scheduler.Snapshot, map[string]string) {
	var counts map[string]map[string]int
	if len(groups) > 0 {
		counts = p.Store.GroupCountsByInstance(cluster, groups...)
	} else {
		counts = p.Store.GroupsByInstance(cluster)
	}
	recs := p.Store.ContainerInstances(cluster, nil)
	ids := make(map[string]string, len(recs))
	list := make([]scheduler.Instance, 0, len(recs))
	p.converted.mu.Lock()
	for _, r := range recs {
		c := p.converted.get(p, r)
		if c.poolHost {
			continue // Fargate pool hosts take Fargate tasks only
		}
		in := c.instance
		in.TasksByGroup = counts[r.Id]
		list = append(list, in)
		ids[in.ARN] = r.Id
	}
	p.converted.prune(recs)
	p.converted.mu.Unlock()
	return scheduler.NewSnapshot(list), ids
}

// converted keeps each stored instance as the scheduler sees it (without
// task counts), so that a snapshot of a large cluster converts only the
// instances that changed since the last one. Stored records are never
// modified, so a record's pointer tells whether its conversion is current.
type converted struct {
	mu   sync.Mutex
	byID map[string]conversion // cluster 0x00 id
}

type conversion struct {
	rec      *berthv1.ContainerInstanceRecord
	instance scheduler.Instance
	poolHost bool
}

// get returns rec's conversion, converting it if it is new or changed; the
// caller holds mu.
func (c *converted) get(p *Placer, rec *berthv1.ContainerInstanceRecord) conversion {
	if c.byID == nil {
		c.byID = map[string]conversion{}
	}
	key := rec.Cluster + "\x00" + rec.Id
	if have, ok := c.byID[key]; ok && have.rec == rec {
		return have
	}
	conv := conversion{rec: rec, instance: p.Instance(rec, nil), poolHost: store.IsPoolHost(rec)}
	c.byID[key] = conv
	return conv
}

// prune forgets the conversions of instances gone from the store once the
// cache holds many more than the snapshot's recs (other clusters' are
// dropped too, and converted again when next needed); the caller holds mu.
func (c *converted) prune(recs []*berthv1.ContainerInstanceRecord) {
	if len(c.byID) <= 2*len(recs)+64 {
		return
	}
	kept := make(map[string]conversion, len(recs))
	for _, r := range recs {
		key := r.Cluster + "\x00" + r.Id
		kept[key] = c.byID[key]
	}
	c.byID = kept
}
