package store

import (
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// maxInterned bounds the interner: when it holds this many strings it
// starts afresh, so that values that stop recurring (instances gone, one-off
// reasons) cannot grow it without end. Records interned before keep their
// copies, which stay equal.
const maxInterned = 1 << 17

// interner makes equal strings of the records kept in memory share one copy.
// Every decoded record has its own copy of every string, yet 100,000 tasks
// repeat a few thousand values (cluster, task definition and instance ARNs,
// statuses, group, image...): one copy each instead of one per task. It
// changes only which bytes a field points at, never a value. It has no lock:
// only Open (before the writer starts) and then the writer use it.
type interner struct {
	m map[string]string
}

// str points *p at the shared copy of its value. A nil interner does
// nothing.
func (in *interner) str(p *string) {
	s := *p
	if in == nil || s == "" {
		return
	}
	if v, ok := in.m[s]; ok {
		*p = v
		return
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string)
	}
	s = strings.Clone(s) // not a substring that would hold a larger string
	in.m[s] = s
	*p = s
}

// task interns what tasks share; the values that are the task's own (its
// id and ARN, its containers' ARNs and runtime ids) are left alone, but the
// containers' taskArn shares the task ARN's bytes. (The id is not cut from
// the ARN: readers keep ids, and would keep each version's ARN with them.)
// rec must be the caller's: not yet shared with readers.
func (in *interner) task(rec *berthv1.TaskRecord) {
	if in == nil {
		return
	}
	in.str(&rec.Cluster)
	in.str(&rec.InstanceId)
	t := rec.Task
	if t == nil {
		return
	}
	for _, p := range []*string{&t.ClusterArn, &t.TaskDefinitionArn, &t.ContainerInstanceArn, &t.LastStatus,
		&t.DesiredStatus, &t.Cpu, &t.Memory, &t.Group, &t.StartedBy, &t.LaunchType, &t.CapacityProviderName,
		&t.AvailabilityZone, &t.HealthStatus, &t.StopCode, &t.StoppedReason, &t.Connectivity, &t.PlatformVersion} {
		in.str(p)
	}
	for _, tag := range t.Tags {
		in.str(&tag.Key)
		in.str(&tag.Value)
	}
	in.attributes(t.Attributes)
	for _, c := range t.Containers {
		if c.TaskArn == t.TaskArn {
			c.TaskArn = t.TaskArn
		}
		for _, p := range []*string{&c.Name, &c.Image, &c.ImageDigest, &c.LastStatus, &c.Reason,
			&c.HealthStatus, &c.Cpu, &c.Memory, &c.MemoryReservation} {
			in.str(p)
		}
		for _, b := range c.NetworkBindings {
			in.str(&b.BindIp)
			in.str(&b.Protocol)
		}
	}
	if pl := rec.Placement; pl != nil {
		in.str(&pl.TieBreak)
		for _, st := range pl.Steps {
			in.str(&st.Strategy)
		}
	}
}

// instance interns what instances share: cluster, status, attributes
// (names, and values such as zones and instance types), agent versions.
// rec must be the caller's.
func (in *interner) instance(rec *berthv1.ContainerInstanceRecord) {
	if in == nil {
		return
	}
	in.str(&rec.Cluster)
	ci := rec.Instance
	if ci == nil {
		return
	}
	in.str(&ci.CapacityProviderName)
	in.str(&ci.Status)
	in.str(&ci.StatusReason)
	in.attributes(ci.Attributes)
	for _, tag := range ci.Tags {
		in.str(&tag.Key)
		in.str(&tag.Value)
	}
	if v := ci.VersionInfo; v != nil {
		in.str(&v.AgentVersion)
		in.str(&v.AgentHash)
		in.str(&v.DockerVersion)
	}
}

func (in *interner) attributes(attrs []*berthv1.Attribute) {
	for _, a := range attrs {
		in.str(&a.Name)
		in.str(&a.Value)
		in.str(&a.TargetType)
		in.str(&a.TargetId)
	}
}
