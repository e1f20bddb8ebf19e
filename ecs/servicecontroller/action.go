package servicecontroller

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/ecs/servicehistory"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// action carries one decision out and gathers the events it makes.
type action struct {
	c      *Controller
	rec    *berthv1.ServiceRecord
	tasks  []*berthv1.TaskRecord
	events []string
	// failure is the latest placement failure, kept for ExplainService;
	// placed says tasks were placed since (which clears it).
	failure *berthv1.PlacementFailure
	placed  bool
}

func (a *action) say(format string, args ...any) {
	a.events = append(a.events, fmt.Sprintf(format, args...))
}

// stop stops what the decision names, and chooses the tasks of a scale-in:
// pending ones first, then by the placement strategy's scale-in rule.
func (a *action) stop(ctx context.Context, d service.Decision) error {
	byReason := map[string][]string{}
	var order []string
	add := func(id, reason string) {
		if _, ok := byReason[reason]; !ok {
			order = append(order, reason)
		}
		byReason[reason] = append(byReason[reason], id)
	}
	for _, s := range d.Stop {
		add(s.Task, s.Reason)
	}
	for _, si := range d.ScaleIn {
		on := a
		if ts := taskSetOf(a.rec.Service, si.Deployment); ts != nil {
			on = a.forTaskSet(ts)
		}
		ids, err := on.scaleIn(si)
		if err != nil {
			return err
		}
		for _, id := range ids {
			add(id, si.Reason)
		}
	}
	var stopped []string
	for _, reason := range order {
		ids, err := a.drain(ctx, byReason[reason], reason)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			continue // their targets are draining: stopped once the delay ends
		}
		_, err = a.c.cfg.Store.Apply(ctx, &berthv1.Command{At: toEpoch(a.c.cfg.Now()), Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
			Cluster: a.rec.Cluster, Ids: ids, StopCode: service.StopSchedulerInitiated, Reason: reason,
		}}})
		if err != nil {
			return err
		}
		stopped = append(stopped, ids...)
	}
	if len(stopped) > 0 {
		a.say("(service %s) has stopped %d running tasks: %s.", a.rec.Service.ServiceName, len(stopped), taskList(stopped))
	}
	return nil
}

// scaleIn picks si.Count live tasks of the deployment to stop.
func (a *action) scaleIn(si service.ScaleIn) ([]string, error) {
	var pending, running []*berthv1.TaskRecord
	now := toEpoch(a.c.cfg.Now())
	for _, t := range a.tasks {
		if t.Task.StartedBy != si.Deployment || t.Task.DesiredStatus != store.TaskRunning || t.Task.LastStatus == store.TaskStopped {
			continue
		}
		if t.ProtectionExpiresAt > now && a.rec.Service.Status != "DRAINING" {
			continue // scale-in protection: Decide counted it out
		}
		if t.Task.LastStatus == store.TaskRunning {
			running = append(running, t)
		} else {
			pending = append(pending, t)
		}
	}
	var out []string
	for _, t := range pending {
		if len(out) < si.Count {
			out = append(out, t.Id)
		}
	}
	left := si.Count - len(out)
	if left <= 0 || len(running) == 0 {
		return out, nil
	}
	if fargateService(a.rec.Service) {
		return append(out, fargateScaleIn(running, left)...), nil
	}
	sort.Slice(running, func(i, j int) bool { return running[i].Task.CreatedAt < running[j].Task.CreatedAt }) // oldest first
	snap, _ := a.c.cfg.Placer.Snapshot(a.rec.Cluster, "service:"+a.rec.Service.ServiceName)
	list := make([]scheduler.RunningTask, len(running))
	for i, t := range running {
		list[i] = scheduler.RunningTask{ARN: t.Task.TaskArn, InstanceARN: t.Task.ContainerInstanceArn, Resources: placement.Resources(t.Reservation)}
	}
	strategies, err := a.strategies()
	if err != nil {
		return nil, err
	}
	chosen, err := snap.ScaleIn(list, min(left, len(list)), strategies, randomSeed())
	if err != nil {
		return nil, err
	}
	for _, i := range chosen {
		out = append(out, running[i].Id)
	}
	return out, nil
}

// start places the tasks the decision asks for.
func (a *action) start(ctx context.Context, d service.Decision) error {
	for _, st := range d.Start {
		if ts := taskSetOf(a.rec.Service, st.Deployment); ts != nil {
			sub := a.forTaskSet(ts)
			err := sub.startOne(ctx, st, ts.TaskDefinition)
			a.merge(sub)
			if err != nil {
				return err
			}
			continue
		}
		for _, dep := range d.Deployments {
			if dep.ID == st.Deployment {
				if err := a.startOne(ctx, st, dep.TaskDefinition); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (a *action) startOne(ctx context.Context, st service.Start, tdArn string) error {
	td, err := a.c.taskDefinition(tdArn)
	if err != nil {
		return err
	}
	svc := a.rec.Service
	plan := placement.NewPlan(a.rec.Cluster, td, nil, "service:"+svc.ServiceName, st.Deployment, propagatedTags(svc, td))
	plan.EnableExecuteCommand = svc.EnableExecuteCommand
	var placed []*berthv1.TaskRecord
	if len(st.Instances) > 0 {
		tasks, failures, err := a.c.cfg.Placer.PlaceOn(ctx, plan, st.Instances)
		if err != nil {
			return err
		}
		placed = tasks
		for _, f := range failures {
			a.say("(service %s) was unable to place a task on (container-instance %s): %s.", svc.ServiceName, lastPart(f.Arn), f.Reason)
		}
	} else if fargateService(svc) {
		if placed, err = a.provision(ctx, plan, st.Count); err != nil {
			return err
		}
	} else if len(svc.CapacityProviderStrategy) > 0 {
		if placed, err = a.launchOnProviders(ctx, plan, st.Count); err != nil {
			return err
		}
	} else {
		strategies, err := a.strategies()
		if err != nil {
			return err
		}
		_, constraints, err := placement.Rules(td.TaskDefinition, nil, svc.PlacementConstraints)
		if err != nil {
			return err
		}
		res, err := a.c.cfg.Placer.Place(ctx, plan, st.Count, strategies, constraints)
		if err != nil {
			return err
		}
		placed = res.Tasks
		if len(res.Failures) > 0 {
			a.failure = placement.PlacementFailure(res.Failures[0], toEpoch(a.c.cfg.Now()))
			a.say("(service %s) was unable to place a task because %s", svc.ServiceName, strings.TrimSuffix(res.Failures[0].Detail, ".")+".")
		}
	}
	if len(placed) > 0 {
		a.placed = true
		ids := make([]string, len(placed))
		for i, t := range placed {
			ids[i] = t.Id
		}
		a.say("(service %s) has started %d tasks: %s.", svc.ServiceName, len(placed), taskList(ids))
	}
	return nil
}

// strategies are the service's placement strategies, or ECS's default for
// services: spread over zones, then over instances.
func (a *action) strategies() ([]scheduler.Strategy, error) {
	svc := a.rec.Service
	if len(svc.PlacementStrategy) == 0 {
		return scheduler.DefaultServiceStrategies(), nil
	}
	td, err := a.c.taskDefinition(svc.TaskDefinition)
	if err != nil {
		return nil, err
	}
	strategies, _, err := placement.Rules(td.TaskDefinition, svc.PlacementStrategy, nil)
	return strategies, err
}

// memberOfExpressions are the parsed memberOf constraints of a service and
// its task definition.
func memberOfExpressions(td *berthv1.TaskDefinition, svc *berthv1.Service) ([]*scheduler.Expression, error) {
	var out []*scheduler.Expression
	var exprs []string
	for _, c := range svc.PlacementConstraints {
		if c.GetType() == scheduler.ConstraintMemberOf {
			exprs = append(exprs, c.GetExpression())
		}
	}
	for _, c := range td.PlacementConstraints {
		exprs = append(exprs, c.GetExpression())
	}
	for _, e := range exprs {
		parsed, err := scheduler.ParseExpression(e)
		if err != nil {
			return nil, err
		}
		out = append(out, parsed)
	}
	return out, nil
}

// propagatedTags are the tags a service's new task takes: the service's
// (propagateTags SERVICE) or its task definition's (TASK_DEFINITION), as
// ECS copies them when it starts the task; none otherwise.
func propagatedTags(svc *berthv1.Service, td *berthv1.TaskDefinitionRecord) []*berthv1.Tag {
	switch svc.PropagateTags {
	case "SERVICE":
		return svc.Tags
	case "TASK_DEFINITION":
		return td.GetTags()
	}
	return nil
}

// taskList is "(task a) (task b)", as ECS's events write it.
func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func randomSeed() uint64 {
	b := make([]byte, 8)
	rand.Read(b)
	return binary.BigEndian.Uint64(b)
}

func newDeploymentID() string { return service.DeploymentID(randomSeed()) }

func newServiceDeploymentID() string {
	var b [servicehistory.IDLength]byte
	rand.Read(b[:])
	return servicehistory.FormatID(b)
}
