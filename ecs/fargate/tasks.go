package fargate

import (
	"context"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// The built-in capacity providers.
const (
	ProviderFargate     = "FARGATE"
	ProviderFargateSpot = "FARGATE_SPOT"
)

// Share is one item of a capacity provider strategy.
type Share struct {
	Provider     string
	Weight, Base int
}

// Shares converts a (validated) capacity provider strategy.
func Shares(items []*berthv1.CapacityProviderStrategyItem) []Share {
	out := make([]Share, len(items))
	for i, it := range items {
		out[i] = Share{Provider: it.GetCapacityProvider(), Weight: int(it.GetWeight()), Base: int(it.GetBase())}
	}
	return out
}

// Split chooses the capacity provider of each of n new tasks as ECS does:
// the provider with a base gets tasks until it runs base of them, then the
// tasks are shared by weight (each new task goes to the provider furthest
// below its weight's share; ties to the first listed). existing counts the
// live tasks each provider already runs (a service's; nil for RunTask).
func Split(strategy []Share, existing map[string]int, n int) []string {
	counts := make([]int, len(strategy)) // per strategy item, tasks beyond its base
	baseLeft := make([]int, len(strategy))
	for i, s := range strategy {
		have := existing[s.Provider]
		baseLeft[i] = max(s.Base-have, 0)
		counts[i] = max(have-s.Base, 0)
	}
	out := make([]string, 0, n)
	for range n {
		chosen := -1
		for i := range strategy {
			if baseLeft[i] > 0 {
				chosen = i
				baseLeft[i]--
				break
			}
		}
		if chosen < 0 {
			for i, s := range strategy {
				if s.Weight <= 0 {
					continue
				}
				// (counts[i]+1)/w_i < (counts[c]+1)/w_c, in integers
				if chosen < 0 || (counts[i]+1)*strategy[chosen].Weight < (counts[chosen]+1)*s.Weight {
					chosen = i
				}
			}
			if chosen < 0 {
				chosen = 0 // validation forbids an all-zero strategy; be safe
			}
			counts[chosen]++
		}
		out = append(out, strategy[chosen].Provider)
	}
	return out
}

// NewTask is the record of one Fargate task of the plan: on no instance,
// PROVISIONING, launchType FARGATE, with its capacity provider when it came
// from a strategy ("" for launchType FARGATE).
func NewTask(p *placement.Placer, plan *placement.Plan, provider string) *berthv1.TaskRecord {
	rec := p.NewTask(plan, "", "")
	t := rec.Task
	t.ContainerInstanceArn = ""
	t.LaunchType = store.LaunchTypeFargate
	t.CapacityProviderName = provider
	t.LastStatus = store.TaskProvisioning
	t.PlatformVersion = "1.4.0"
	return rec
}

// Provision stores Fargate tasks PROVISIONING; the pool manager assigns them
// to pool hosts.
func Provision(ctx context.Context, apply func(context.Context, *berthv1.Command) (any, error), cluster string, tasks []*berthv1.TaskRecord) ([]*berthv1.TaskRecord, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	res, err := apply(ctx, &berthv1.Command{Change: &berthv1.Command_ProvisionTasks{ProvisionTasks: &berthv1.ProvisionTasksCommand{
		Cluster: cluster, Tasks: tasks,
	}}})
	if err != nil {
		return nil, err
	}
	recs, ok := res.(*berthv1.TaskRecords)
	if !ok {
		return nil, fmt.Errorf("fargate: ProvisionTasks returned %T", res)
	}
	return recs.Tasks, nil
}
