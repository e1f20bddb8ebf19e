package placement

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// GroupsByInstance counts, per instance id, the cluster's tasks that are not
// STOPPED by task group.
func (p *Placer) GroupsByInstance(cluster string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, t := range p.Store.Tasks(cluster, func(t *berthv1.TaskRecord) bool {
		return t.InstanceId != "" && t.Task.GetLastStatus() != store.TaskStopped
	}) {
		m := out[t.InstanceId]
		if m == nil {
			m = map[string]int{}
			out[t.InstanceId] = m
		}
		m[t.Task.GetGroup()]++
	}
	return out
}

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
// order, with the map from instance ARN back to id.
func (p *Placer) Snapshot(cluster string) (*scheduler.Snapshot, map[string]string) {
	groups := p.GroupsByInstance(cluster)
	recs := p.Store.ContainerInstances(cluster, nil)
	ids := make(map[string]string, len(recs))
	list := make([]scheduler.Instance, len(recs))
	for i, r := range recs {
		list[i] = p.Instance(r, groups[r.Id])
		ids[list[i].ARN] = r.Id
	}
	return scheduler.NewSnapshot(list), ids
}
