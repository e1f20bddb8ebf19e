package servicecontroller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/ecs/servicehistory"
	"github.com/berth/berth/store"
)

// maxEvents is how many events a service keeps, as ECS.
const maxEvents = 100

// reconcile decides for one service and carries the decision out.
func (c *Controller) reconcile(ctx context.Context, k serviceKey) error {
	rec, err := c.cfg.Store.Service(k.cluster, k.name)
	if err != nil || !live(rec) {
		return nil // gone meanwhile
	}
	tasks := c.cfg.Store.TasksOfGroup(k.cluster, "service:"+k.name)
	a := &action{c: c, rec: rec, tasks: tasks}
	lbHealth, err := a.balance(ctx)
	if err != nil {
		return err
	}
	in, err := c.input(rec, tasks, lbHealth)
	if err != nil {
		return err
	}
	d := service.Decide(in)
	if err := a.stop(ctx, d); err != nil {
		return err
	}
	if err := a.start(ctx, d); err != nil {
		return err
	}
	return c.save(ctx, rec, d, a)
}

// input is the service's moment as service.Decide reads it.
// lbHealth is each running task's health by its load balancers' targets
// (nil for a service without loadBalancers): such a task counts as healthy
// only when its targets are.
func (c *Controller) input(rec *berthv1.ServiceRecord, tasks []*berthv1.TaskRecord, lbHealth map[string]string) (service.Input, error) {
	svc := rec.Service
	cfg := svc.GetDeploymentConfiguration()
	in := service.Input{
		Service: service.Service{
			Name: svc.ServiceName, SchedulingStrategy: svc.SchedulingStrategy, DesiredCount: int(svc.GetDesiredCount()),
			MinHealthyPercent: int(cfg.GetMinimumHealthyPercent()), MaxPercent: int(cfg.GetMaximumPercent()),
			CircuitBreaker: cfg.GetDeploymentCircuitBreaker().GetEnable(), Rollback: cfg.GetDeploymentCircuitBreaker().GetRollback(),
			Backoff: service.Backoff{Failures: int(rec.GetBackoff().GetFailures()), NextStart: fromEpoch(rec.GetBackoff().GetNextStart()),
				Seen: int(rec.GetBackoff().GetSeen())},
			Steady: rec.Steady, External: external(svc), TaskSets: taskSetInputs(svc),
		},
		Now: c.cfg.Now(), HealthGrace: c.cfg.HealthGrace, NewDeploymentID: newDeploymentID(),
	}
	for _, d := range svc.Deployments {
		in.Service.Deployments = append(in.Service.Deployments, service.Deployment{ID: d.Id, Status: d.Status,
			TaskDefinition: d.TaskDefinition, RolloutState: d.RolloutState, CreatedAt: fromEpoch(d.CreatedAt)})
	}
	checks := map[string]bool{}
	for _, t := range tasks {
		td := t.Task.TaskDefinitionArn
		if _, ok := checks[td]; !ok {
			has, err := c.hasHealthCheck(td)
			if err != nil {
				return in, err
			}
			checks[td] = has
		}
		in.Tasks = append(in.Tasks, service.Task{ID: t.Id, Deployment: t.Task.StartedBy, Instance: t.InstanceId,
			LastStatus: t.Task.LastStatus, DesiredStatus: t.Task.DesiredStatus, HealthStatus: t.Task.HealthStatus,
			HasHealthCheck: checks[td], StartedAt: fromEpoch(t.Task.StartedAt), StopCode: t.Task.StopCode,
			EverRan: t.Task.StartedAt != 0, ProtectedUntil: protectedUntil(svc, t),
			FailedHealthChecks: t.Task.StopCode == service.StopSchedulerInitiated && strings.HasPrefix(t.Task.StoppedReason, elbHealthReason)})
		if lb, ok := lbHealth[t.Id]; ok {
			last := &in.Tasks[len(in.Tasks)-1]
			if !last.HasHealthCheck || last.HealthStatus == "HEALTHY" || lb == "UNHEALTHY" {
				last.HealthStatus = lb
			}
			last.HasHealthCheck = true
		}
	}
	instances, err := c.instances(rec, tasks)
	if err != nil {
		return in, err
	}
	in.Instances = instances
	if svc.Status == "DRAINING" {
		in.Service.DesiredCount = 0
		if svc.SchedulingStrategy == service.Daemon {
			in.Instances = nil
		}
	}
	return in, nil
}

// protectedUntil is when a task's scale-in protection ends. Deleting the
// service stops its tasks all the same: protection holds against scale-in
// and deployments, not against the service's end.
func protectedUntil(svc *berthv1.Service, t *berthv1.TaskRecord) time.Time {
	if svc.Status == "DRAINING" {
		return time.Time{}
	}
	return fromEpoch(t.ProtectionExpiresAt)
}

// hasHealthCheck reports whether a task definition's essential containers
// have a health check (the task's health then comes from them).
func (c *Controller) hasHealthCheck(tdArn string) (bool, error) {
	td, err := c.taskDefinition(tdArn)
	if err != nil {
		return false, err
	}
	for _, cd := range td.TaskDefinition.ContainerDefinitions {
		if cd.GetEssential() && cd.HealthCheck != nil {
			return true, nil
		}
	}
	return false, nil
}

func (c *Controller) taskDefinition(tdArn string) (*berthv1.TaskDefinitionRecord, error) {
	family, rev, err := arn.TaskDefinition(tdArn)
	if err != nil {
		return nil, err
	}
	return c.cfg.Store.TaskDefinition(family, rev)
}

// instances is the cluster's instances as Decide reads them: whether the
// service's constraints admit each, and how many other tasks each runs (its
// live tasks less the service's own). A REPLICA service reads only the
// instances its tasks are on (is one draining, or its agent gone); a DAEMON
// service reads them all.
func (c *Controller) instances(rec *berthv1.ServiceRecord, tasks []*berthv1.TaskRecord) ([]service.Instance, error) {
	own := map[string]int{}
	for _, t := range tasks {
		if t.InstanceId != "" && t.Task.GetLastStatus() != store.TaskStopped {
			own[t.InstanceId]++
		}
	}
	var recs []*berthv1.ContainerInstanceRecord
	if rec.Service.SchedulingStrategy == service.Daemon {
		recs = c.cfg.Store.ContainerInstances(rec.Cluster, func(r *berthv1.ContainerInstanceRecord) bool {
			return !store.IsPoolHost(r) // Fargate pool hosts run Fargate tasks only
		})
	} else {
		for id := range own {
			if r, err := c.cfg.Store.ContainerInstance(rec.Cluster, id); err == nil {
				recs = append(recs, r)
			}
		}
	}
	td := &berthv1.TaskDefinition{} // an EXTERNAL service has none until a task set is PRIMARY
	if rec.Service.TaskDefinition != "" {
		r, err := c.taskDefinition(rec.Service.TaskDefinition)
		if err != nil {
			return nil, err
		}
		td = r.TaskDefinition
	}
	memberOf, err := memberOfExpressions(td, rec.Service)
	if err != nil {
		return nil, err
	}
	var groups map[string]map[string]int // what memberOf's task:group reads; only when there is one
	if len(memberOf) > 0 {
		groups = c.cfg.Store.GroupsByInstance(rec.Cluster)
	}
	out := make([]service.Instance, 0, len(recs))
	for _, r := range recs {
		eligible := true
		if len(memberOf) > 0 {
			si := c.cfg.Placer.Instance(r, groups[r.Id])
			for _, e := range memberOf {
				eligible = eligible && e.Match(&si)
			}
		}
		out = append(out, service.Instance{ID: r.Id, Status: r.Instance.GetStatus(), Connected: r.Instance.GetAgentConnected(),
			Eligible: eligible, OtherTasks: int(r.RunningTasks+r.PendingTasks) - own[r.Id]})
	}
	return out, nil
}

// sameFailure reports whether a placement failure is the one already stored
// but for its time: the service keeps the time it began, and a pass that
// fails alike writes nothing (its own write would start another pass).
func sameFailure(f, stored *berthv1.PlacementFailure) bool {
	if stored == nil {
		return false
	}
	g := proto.Clone(f).(*berthv1.PlacementFailure)
	g.At = stored.At
	return proto.Equal(g, stored)
}

// save writes the decision's deployments, counts, back-off and events; a
// DRAINING service with no task left becomes INACTIVE. A concurrent update
// (an UpdateService) wins: the next pass decides again.
func (c *Controller) save(ctx context.Context, rec *berthv1.ServiceRecord, d service.Decision, a *action) error {
	events := a.events
	next := proto.Clone(rec).(*berthv1.ServiceRecord)
	switch {
	case a.failure != nil && !sameFailure(a.failure, rec.PlacementFailure):
		next.PlacementFailure = a.failure
	case a.failure == nil && a.placed:
		next.PlacementFailure = nil
	}
	svc := next.Service
	svc.Deployments = c.deployments(rec.Service, d)
	if external(svc) {
		svc.TaskSets = c.taskSets(rec.Service, d)
	}
	running, pending := 0, 0
	for _, n := range d.Counts {
		running += n.Running
		pending += n.Pending
	}
	svc.RunningCount, svc.PendingCount = proto.Int32(int32(running)), proto.Int32(int32(pending))
	if len(svc.Deployments) > 0 {
		svc.TaskDefinition = svc.Deployments[0].TaskDefinition
	}
	next.Backoff = &berthv1.ServiceBackoff{Failures: int32(d.Backoff.Failures), NextStart: toEpoch(d.Backoff.NextStart), Seen: int32(d.Backoff.Seen)}
	next.Steady = d.Steady
	if svc.Status == "DRAINING" && running+pending == 0 {
		svc.Status = store.StatusInactive
		events = append(events, fmt.Sprintf("(service %s) has been deleted.", svc.ServiceName))
	}
	c.addEvents(next, append(d.Events, events...))
	c.recordHistory(next, d)
	if proto.Equal(next, rec) {
		return nil
	}
	_, err := c.cfg.Store.Apply(ctx, &berthv1.Command{At: toEpoch(c.cfg.Now()), Change: &berthv1.Command_PutService{
		PutService: &berthv1.PutServiceCommand{Service: next, ExpectedVersion: rec.Version},
	}})
	if errors.Is(err, store.ErrServiceChanged) {
		return nil // the watch brings the change, and with it another pass
	}
	return err
}

// recordHistory moves the service's history (servicehistory) with the
// decision's deployments: a rollback joins the service deployment it rolls
// back.
func (c *Controller) recordHistory(rec *berthv1.ServiceRecord, d service.Decision) {
	rollbacks := map[string]servicehistory.Rollback{}
	for _, dep := range d.Deployments {
		if dep.RollbackOf != "" {
			rollbacks[dep.ID] = servicehistory.Rollback{Of: dep.RollbackOf, To: dep.RollbackTo}
		}
	}
	servicehistory.Update(rec, servicehistory.Change{ARNs: c.cfg.ARNs, Now: toEpoch(c.cfg.Now()), NewID: newServiceDeploymentID,
		Rollbacks: rollbacks, Images: c.containerImages})
}

// containerImages are a task definition's containers and images.
func (c *Controller) containerImages(tdArn string) []*berthv1.ContainerImage {
	td, err := c.taskDefinition(tdArn)
	if err != nil {
		return nil
	}
	var out []*berthv1.ContainerImage
	for _, cd := range td.TaskDefinition.GetContainerDefinitions() {
		out = append(out, &berthv1.ContainerImage{ContainerName: cd.GetName(), Image: cd.GetImage()})
	}
	return out
}

// deployments maps the decision's deployments back to ECS's shape, keeping
// what Decide does not know of each (and making the rollback's).
func (c *Controller) deployments(svc *berthv1.Service, d service.Decision) []*berthv1.Deployment {
	byID := map[string]*berthv1.Deployment{}
	for _, dep := range svc.Deployments {
		byID[dep.Id] = dep
	}
	now := toEpoch(c.cfg.Now())
	var out []*berthv1.Deployment
	for _, dd := range d.Deployments {
		dep := proto.Clone(orNew(byID[dd.ID], dd, svc, byID[dd.RollbackTo], now)).(*berthv1.Deployment)
		counts := d.Counts[dd.ID]
		changed := dep.Status != dd.Status || dep.RolloutState != dd.RolloutState ||
			dep.GetRunningCount() != int32(counts.Running) || dep.GetPendingCount() != int32(counts.Pending) ||
			dep.GetFailedTasks() != int32(counts.Failed)
		dep.Status, dep.RolloutState = dd.Status, dd.RolloutState
		dep.RunningCount, dep.PendingCount, dep.FailedTasks = proto.Int32(int32(counts.Running)), proto.Int32(int32(counts.Pending)), proto.Int32(int32(counts.Failed))
		if dd.Status == service.Primary {
			dep.DesiredCount = svc.DesiredCount
		}
		dep.RolloutStateReason = rolloutReason(dep)
		if changed {
			dep.UpdatedAt = now
		}
		out = append(out, dep)
	}
	return out
}

// orNew is the stored deployment, or a rollback's new one (with the Service
// Connect configuration of the deployment it goes back to, when kept).
func orNew(dep *berthv1.Deployment, dd service.Deployment, svc *berthv1.Service, to *berthv1.Deployment, now float64) *berthv1.Deployment {
	if dep != nil {
		return dep
	}
	return &berthv1.Deployment{Id: dd.ID, TaskDefinition: dd.TaskDefinition, CreatedAt: now, UpdatedAt: now,
		LaunchType: svc.LaunchType, NetworkConfiguration: svc.NetworkConfiguration, PlatformVersion: svc.PlatformVersion,
		CapacityProviderStrategy: svc.CapacityProviderStrategy, ServiceConnectConfiguration: to.GetServiceConnectConfiguration()}
}

func rolloutReason(dep *berthv1.Deployment) string {
	switch dep.RolloutState {
	case service.Completed:
		return "ECS deployment " + dep.Id + " completed."
	case service.Failed:
		return "ECS deployment circuit breaker: tasks failed to start."
	}
	return "ECS deployment " + dep.Id + " in progress."
}

// addEvents puts new events first, numbered, and keeps the newest 100.
func (c *Controller) addEvents(rec *berthv1.ServiceRecord, messages []string) {
	now := toEpoch(c.cfg.Now())
	for _, m := range messages {
		if len(rec.Service.Events) > 0 && rec.Service.Events[0].Message == m && (strings.Contains(m, "unable to place") || strings.Contains(m, "unable to scale in")) {
			continue // said already; ECS repeats it only now and then
		}
		rec.NextEvent++
		ev := &berthv1.ServiceEvent{Id: fmt.Sprintf("%s-%d", rec.Service.ServiceName, rec.NextEvent), CreatedAt: now, Message: m}
		rec.Service.Events = append([]*berthv1.ServiceEvent{ev}, rec.Service.Events...)
	}
	if len(rec.Service.Events) > maxEvents {
		rec.Service.Events = rec.Service.Events[:maxEvents]
	}
}

func fromEpoch(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}

func toEpoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
