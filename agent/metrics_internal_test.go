package agent

import (
	"math"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestUsageFromDockerStats(t *testing.T) {
	var ds dockerStats
	t0 := time.Unix(1_700_000_000, 0)
	ds.Read = t0.Add(time.Second)
	ds.CPUStats.CPUUsage.TotalUsage = 1_500_000_000
	ds.CPUStats.SystemUsage = 20_000_000_000
	ds.CPUStats.OnlineCPUs = 4
	ds.MemoryStats.Usage = 300 << 20
	ds.MemoryStats.Stats = map[string]uint64{"inactive_file": 100 << 20}
	// first sample: memory only
	cm, mark, ok := usage("web", ds, cpuMark{})
	if !ok || cm.CpuUsed != 0 || cm.MemoryUsedMib != 200 {
		t.Fatalf("first sample %+v", cm)
	}
	// half a core over the next period: 0.5 s of CPU in 4 s of system time on 4 CPUs
	ds.CPUStats.CPUUsage.TotalUsage += 500_000_000
	ds.CPUStats.SystemUsage += 4_000_000_000
	cm, _, _ = usage("web", ds, mark)
	if math.Abs(cm.CpuUsed-512) > 1e-6 {
		t.Fatalf("cpu %v units, want 512", cm.CpuUsed)
	}
}

func TestReservation(t *testing.T) {
	r := reservation(&berthv1.TaskLimits{Containers: []*berthv1.ContainerLimits{{Cpu: 256, Memory: 512}, {Cpu: 128, MemoryReservation: 64}}})
	if r.cpu != 384 || r.memory != 576 {
		t.Fatalf("%+v", r)
	}
	if r := reservation(&berthv1.TaskLimits{Cpu: 1024, Memory: 2048}); r.cpu != 1024 || r.memory != 2048 {
		t.Fatalf("%+v", r)
	}
}
