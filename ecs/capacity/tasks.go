package capacity

import (
	"context"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// Launch stores count new tasks of the plan on the EC2 capacity providers
// of the strategy, split as ECS splits them (existing counts the live tasks
// a service already runs on each provider; nil for RunTask). Like ECS, every
// such task starts PROVISIONING on no instance, carrying the placement
// strategy and constraints it was run with: the Manager places it on its
// provider's instances, which managed scaling grows when they lack room.
func Launch(ctx context.Context, p *placement.Placer, plan *placement.Plan, strategy []*berthv1.CapacityProviderStrategyItem, existing map[string]int, count int,
	ps []*berthv1.PlacementStrategy, pc []*berthv1.PlacementConstraint) ([]*berthv1.TaskRecord, error) {
	providers := fargate.Split(fargate.Shares(strategy), existing, count)
	tasks := make([]*berthv1.TaskRecord, count)
	for i := range tasks {
		rec := p.NewTask(plan, "", "")
		t := rec.Task
		t.ContainerInstanceArn = ""
		t.CapacityProviderName = providers[i]
		t.LastStatus = store.TaskProvisioning
		rec.WaitingStrategy, rec.WaitingConstraints = ps, pc
		tasks[i] = rec
	}
	return fargate.Provision(ctx, p.Apply, plan.Cluster, tasks)
}

// IsEC2Strategy reports whether a capacity provider strategy names EC2
// capacity providers (a strategy cannot mix them with FARGATE and
// FARGATE_SPOT).
func IsEC2Strategy(strategy []*berthv1.CapacityProviderStrategyItem) bool {
	for _, it := range strategy {
		if !store.IsBuiltinProvider(it.GetCapacityProvider()) {
			return true
		}
	}
	return false
}

// Waiting reports whether a task waits for an EC2 capacity provider's
// instances: PROVISIONING on no instance, wanted, not a Fargate task.
func Waiting(t *berthv1.TaskRecord) bool {
	return t.InstanceId == "" && t.Task.GetLastStatus() == store.TaskProvisioning && t.Task.GetDesiredStatus() == store.TaskRunning &&
		t.Task.GetLaunchType() != store.LaunchTypeFargate && t.Task.GetCapacityProviderName() != ""
}
