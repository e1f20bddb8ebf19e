package store

import (
	"slices"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// ECS's placement failure reasons for the resources the store re-checks.
const (
	ReasonCPU    = "RESOURCE:CPU"
	ReasonMemory = "RESOURCE:MEMORY"
	ReasonGPU    = "RESOURCE:GPU"
	ReasonPorts  = "RESOURCE:PORTS"
)

// lacks returns the ECS reason why need does not fit in registered minus
// allocated, or "" if it fits.
func lacks(registered, allocated, need *berthv1.Resources) string {
	switch {
	case allocated.GetCpu()+need.GetCpu() > registered.GetCpu():
		return ReasonCPU
	case allocated.GetMemory()+need.GetMemory() > registered.GetMemory():
		return ReasonMemory
	case allocated.GetGpu()+need.GetGpu() > registered.GetGpu():
		return ReasonGPU
	case overlaps(need.GetPortsTcp(), registered.GetPortsTcp(), allocated.GetPortsTcp()),
		overlaps(need.GetPortsUdp(), registered.GetPortsUdp(), allocated.GetPortsUdp()):
		return ReasonPorts
	}
	return ""
}

// overlaps reports whether any of want is in one of the taken lists.
func overlaps(want []int32, taken ...[]int32) bool {
	for _, p := range want {
		for _, t := range taken {
			if slices.Contains(t, p) {
				return true
			}
		}
	}
	return false
}

// hold adds r to a (a task placed).
func hold(a, r *berthv1.Resources) {
	a.Cpu += r.GetCpu()
	a.Memory += r.GetMemory()
	a.Gpu += r.GetGpu()
	a.PortsTcp = append(a.PortsTcp, r.GetPortsTcp()...)
	a.PortsUdp = append(a.PortsUdp, r.GetPortsUdp()...)
}

// release takes r from a (a task stopped).
func release(a, r *berthv1.Resources) {
	a.Cpu -= r.GetCpu()
	a.Memory -= r.GetMemory()
	a.Gpu -= r.GetGpu()
	a.PortsTcp = without(a.PortsTcp, r.GetPortsTcp())
	a.PortsUdp = without(a.PortsUdp, r.GetPortsUdp())
}

// without removes one occurrence of each of drop from list.
func without(list, drop []int32) []int32 {
	for _, p := range drop {
		if i := slices.Index(list, p); i >= 0 {
			list = slices.Delete(list, i, i+1)
		}
	}
	return list
}

func instanceNotFound(cluster, id string) error {
	return refused(apierr.NotFound, "",
		"container instance %s not found in cluster %q", id, cluster)
}

func taskNotFound(cluster, id string) error {
	return apierr.New(apierr.NotFound, ReasonTaskNotFound,
		"task %s not found in cluster %q", id, cluster).Says(TextTaskNotFound)
}
