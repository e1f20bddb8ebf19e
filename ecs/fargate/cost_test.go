package fargate

import (
	"math"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestTaskCost(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) float64 { return float64(now.Add(d).UnixNano()) / 1e9 }
	perHour := 1*OnDemandPrice.VCPUHour + 2*OnDemandPrice.GBHour // 1 vCPU, 2 GB
	tests := []struct {
		name          string
		task          *berthv1.Task
		perHour, cost float64
	}{
		{"running an hour", &berthv1.Task{LaunchType: "FARGATE", Cpu: "1024", Memory: "2048", LastStatus: "RUNNING", PullStartedAt: at(-time.Hour)},
			perHour, perHour},
		{"running 10 s: the one-minute minimum", &berthv1.Task{LaunchType: "FARGATE", Cpu: "1024", Memory: "2048", LastStatus: "RUNNING", PullStartedAt: at(-10 * time.Second)},
			perHour, perHour / 60},
		{"stopped after 30 min", &berthv1.Task{LaunchType: "FARGATE", Cpu: "1024", Memory: "2048", LastStatus: "STOPPED",
			PullStartedAt: at(-time.Hour), StoppedAt: at(-30 * time.Minute)}, 0, perHour / 2},
		{"spot", &berthv1.Task{LaunchType: "FARGATE", CapacityProviderName: "FARGATE_SPOT", Cpu: "1024", Memory: "2048", LastStatus: "RUNNING", PullStartedAt: at(-time.Hour)},
			SpotPrice.VCPUHour + 2*SpotPrice.GBHour, SpotPrice.VCPUHour + 2*SpotPrice.GBHour},
		{"waiting for capacity", &berthv1.Task{LaunchType: "FARGATE", Cpu: "1024", Memory: "2048", LastStatus: "PROVISIONING", CreatedAt: at(-time.Hour)}, 0, 0},
		{"EC2", &berthv1.Task{LaunchType: "EC2", Cpu: "1024", Memory: "2048", LastStatus: "RUNNING", PullStartedAt: at(-time.Hour)}, 0, 0},
	}
	for _, tt := range tests {
		ph, c := TaskCost(tt.task, now)
		if math.Abs(ph-tt.perHour) > 1e-9 || math.Abs(c-tt.cost) > 1e-9 {
			t.Errorf("%s: %v/h, %v so far; want %v/h, %v", tt.name, ph, c, tt.perHour, tt.cost)
		}
	}
}
