package fargate

import (
	"strconv"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
)

// Price is Fargate's price per vCPU-hour and per GB-hour, in dollars.
type Price struct {
	VCPUHour, GBHour float64
}

// Fargate's prices (x86, us-east-1). The Spot price moves with demand; this
// is a typical one, about 70% off.
var (
	OnDemandPrice = Price{VCPUHour: 0.04048, GBHour: 0.004445}
	SpotPrice     = Price{VCPUHour: 0.01334053, GBHour: 0.00146489}
)

// minimumBilled is Fargate's minimum charge per task.
const minimumBilled = time.Minute

// PerHour is what cpu units and memory MiB cost per hour.
func (p Price) PerHour(cpu, memoryMiB int64) float64 {
	return float64(cpu)/1024*p.VCPUHour + float64(memoryMiB)/1024*p.GBHour
}

// TaskPrice is the price of a Fargate task's capacity provider.
func TaskPrice(t *berthv1.Task) Price {
	if t.GetCapacityProviderName() == ProviderFargateSpot {
		return SpotPrice
	}
	return OnDemandPrice
}

// TaskCost is what a Fargate task costs per hour now (0 while it waits for
// capacity and once it stopped) and what it has cost until now: billed per
// second from the start of its image pull (its start, or its creation, when
// no pull was reported) until it stopped, one minute at least; a task that
// never began to run costs nothing. Tasks that are not Fargate's cost
// nothing.
func TaskCost(t *berthv1.Task, now time.Time) (perHour, soFar float64) {
	if t.GetLaunchType() != store.LaunchTypeFargate {
		return 0, 0
	}
	cpu, _ := strconv.ParseInt(t.GetCpu(), 10, 64)
	memory, _ := strconv.ParseInt(t.GetMemory(), 10, 64)
	perHour = TaskPrice(t).PerHour(cpu, memory)
	from := t.GetPullStartedAt()
	if from == 0 {
		from = t.GetStartedAt()
	}
	if from == 0 {
		if t.GetLastStatus() == store.TaskStopped || t.GetLastStatus() == store.TaskProvisioning {
			return 0, 0 // never ran, or not yet
		}
		from = t.GetCreatedAt()
	}
	until := float64(now.UnixNano()) / 1e9
	if t.GetLastStatus() == store.TaskStopped && t.GetStoppedAt() != 0 {
		until = t.GetStoppedAt()
	}
	billed := max(time.Duration((until-from)*float64(time.Second)), minimumBilled)
	if t.GetLastStatus() == store.TaskStopped {
		perHour = 0 // stopped: it costs nothing more
	}
	return perHour, billed.Hours() * TaskPrice(t).PerHour(cpu, memory)
}
