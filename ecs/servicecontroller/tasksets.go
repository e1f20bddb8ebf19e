package servicecontroller

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/service"
)

// external reports whether a service has the EXTERNAL deployment
// controller: it runs task sets, not deployments.
func external(svc *berthv1.Service) bool {
	return svc.GetDeploymentController().GetType() == service.ControllerExternal
}

// taskSetInputs are a service's task sets as Decide reads them.
func taskSetInputs(svc *berthv1.Service) []service.TaskSet {
	out := make([]service.TaskSet, 0, len(svc.TaskSets))
	for _, ts := range svc.TaskSets {
		out = append(out, service.TaskSet{ID: ts.Id, Status: ts.Status, TaskDefinition: ts.TaskDefinition, Scale: ts.GetScale().GetValue()})
	}
	return out
}

func taskSetOf(svc *berthv1.Service, id string) *berthv1.TaskSet {
	for _, ts := range svc.TaskSets {
		if ts.Id == id {
			return ts
		}
	}
	return nil
}

// forTaskSet is the action as a task set's tasks are started and stopped:
// the service seen with the task set's task definition, launch type,
// capacity provider strategy, platform version and network configuration.
// It sees the task set's tasks only. Its events and placement failure are
// taken back with merge.
func (a *action) forTaskSet(ts *berthv1.TaskSet) *action {
	sub := *a
	rec := proto.Clone(a.rec).(*berthv1.ServiceRecord)
	svc := rec.Service
	svc.TaskDefinition, svc.LaunchType, svc.CapacityProviderStrategy = ts.TaskDefinition, ts.LaunchType, ts.CapacityProviderStrategy
	svc.PlatformVersion, svc.NetworkConfiguration = ts.PlatformVersion, ts.NetworkConfiguration
	sub.rec = rec
	sub.tasks = nil // its own tasks only: a capacity provider split counts them
	for _, t := range a.tasks {
		if t.Task.GetStartedBy() == ts.Id {
			sub.tasks = append(sub.tasks, t)
		}
	}
	return &sub
}

// merge takes back what a task set's action said and placed.
func (a *action) merge(sub *action) {
	a.events = sub.events
	if sub.failure != nil {
		a.failure = sub.failure
	}
	a.placed = a.placed || sub.placed
}

// taskSets maps the decision's task sets back to ECS's shape: counts,
// computed desired count and stability, updatedAt when any of them changed;
// a task set the decision dropped (DRAINING, no task left) is gone.
func (c *Controller) taskSets(svc *berthv1.Service, d service.Decision) []*berthv1.TaskSet {
	now := toEpoch(c.cfg.Now())
	var out []*berthv1.TaskSet
	for _, st := range d.TaskSets {
		old := taskSetOf(svc, st.ID)
		if old == nil {
			continue
		}
		ts := proto.Clone(old).(*berthv1.TaskSet)
		counts := d.Counts[st.ID]
		ts.ComputedDesiredCount = proto.Int32(int32(st.ComputedDesiredCount))
		ts.RunningCount, ts.PendingCount = proto.Int32(int32(counts.Running)), proto.Int32(int32(counts.Pending))
		if ts.StabilityStatus != st.Stability {
			ts.StabilityStatus, ts.StabilityStatusAt = st.Stability, now
		}
		if !proto.Equal(ts, old) {
			ts.UpdatedAt = now
		}
		out = append(out, ts)
	}
	return out
}
