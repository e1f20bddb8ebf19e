package servicecontroller

import (
	"context"
	"sort"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// fargateService reports whether a service's tasks run on Fargate: launchType
// FARGATE or a capacity provider strategy over FARGATE and FARGATE_SPOT.
func fargateService(svc *berthv1.Service) bool {
	cps := svc.GetCapacityProviderStrategy()
	return svc.GetLaunchType() == store.LaunchTypeFargate || len(cps) > 0 && !capacity.IsEC2Strategy(cps)
}

// liveByProvider counts the service's live tasks per capacity provider.
func (a *action) liveByProvider() map[string]int {
	existing := map[string]int{}
	for _, t := range a.tasks {
		if t.Task.DesiredStatus == store.TaskRunning && t.Task.LastStatus != store.TaskStopped {
			existing[t.Task.CapacityProviderName]++
		}
	}
	return existing
}

// launchOnProviders stores count new tasks of the plan PROVISIONING on the
// service's EC2 capacity providers, split as ECS splits them; the capacity
// manager places them with the service's strategy and constraints.
func (a *action) launchOnProviders(ctx context.Context, plan *placement.Plan, count int) ([]*berthv1.TaskRecord, error) {
	svc := a.rec.Service
	return capacity.Launch(ctx, a.c.cfg.Placer, plan, svc.CapacityProviderStrategy, a.liveByProvider(), count, svc.PlacementStrategy, svc.PlacementConstraints)
}

// provision stores count new Fargate tasks of the plan PROVISIONING, split
// over the service's capacity providers as ECS splits them; the Fargate pool
// manager gets them capacity.
func (a *action) provision(ctx context.Context, plan *placement.Plan, count int) ([]*berthv1.TaskRecord, error) {
	providers := make([]string, count)
	if cps := a.rec.Service.GetCapacityProviderStrategy(); len(cps) > 0 {
		providers = fargate.Split(fargate.Shares(cps), a.liveByProvider(), count)
	}
	tasks := make([]*berthv1.TaskRecord, count)
	for i := range tasks {
		tasks[i] = fargate.NewTask(a.c.cfg.Placer, plan, providers[i])
	}
	return fargate.Provision(ctx, a.c.cfg.Placer.Apply, a.rec.Cluster, tasks)
}

// fargateScaleIn picks n of a Fargate service's running tasks to stop: those
// on the pool hosts that run the fewest of its tasks first, so that hosts
// empty and the pool can shrink; the newest first among equals.
func fargateScaleIn(running []*berthv1.TaskRecord, n int) []string {
	perHost := map[string]int{}
	for _, t := range running {
		perHost[t.InstanceId]++
	}
	list := append([]*berthv1.TaskRecord(nil), running...)
	sort.SliceStable(list, func(i, j int) bool {
		if a, b := perHost[list[i].InstanceId], perHost[list[j].InstanceId]; a != b {
			return a < b
		}
		if list[i].InstanceId != list[j].InstanceId {
			return list[i].InstanceId < list[j].InstanceId
		}
		return list[i].Task.CreatedAt > list[j].Task.CreatedAt
	})
	out := make([]string, 0, n)
	for _, t := range list[:min(n, len(list))] {
		out = append(out, t.Id)
	}
	return out
}
