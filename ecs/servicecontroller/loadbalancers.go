package servicecontroller

import (
	"context"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/store"
)

// elbHealthReason starts the stoppedReason of a task the service stopped
// for failing its target group's health checks, as ECS writes it (the
// target group's ARN and ")" follow); the circuit breaker counts such tasks.
const elbHealthReason = "Task failed ELB health checks in (target-group "

// LoadBalancers is what the service controller asks of Elastic Load
// Balancing for a service's loadBalancers: each RUNNING task's host port is
// a target of the service's target groups, its health counts toward the
// task's, and a task leaves its target groups through their deregistration
// delay before it is stopped. The control plane fills it; nil: services'
// loadBalancers are kept and shown, and nothing registers.
type LoadBalancers interface {
	// Register makes t a target of its group (nothing when it is one).
	Register(ctx context.Context, t Target) error
	// Deregister starts t's deregistration delay, if it is registered and
	// not draining yet, and says when the delay ends (zero: t is no
	// target, or no longer one).
	Deregister(ctx context.Context, t Target) (until time.Time, err error)
	// TargetHealth is t's health state as DescribeTargetHealth names it
	// ("healthy", "unhealthy", "initial", "draining", "unused"), "" when t
	// is not registered.
	TargetHealth(t Target) string
}

// Target is a task's target in a target group.
type Target struct {
	TargetGroupArn string
	// InstanceID is the EC2 instance ID of the task's container instance;
	// Port the host port its container port is published on (berth's hosts
	// publish on loopback; an awsvpc task's pause container publishes its
	// ports there too, and an ip target group's target is 127.0.0.1:Port).
	InstanceID string
	Port       int32
}

// targetsOf are a task's targets: for each of the service's loadBalancers,
// the host port its container publishes the container port on.
func (c *Controller) targetsOf(rec *berthv1.ServiceRecord, t *berthv1.TaskRecord) []Target {
	var out []Target
	var instanceID string
	for _, lb := range rec.Service.GetLoadBalancers() {
		if lb.GetTargetGroupArn() == "" {
			continue
		}
		for _, ctr := range t.Task.GetContainers() {
			if ctr.GetName() != lb.GetContainerName() {
				continue
			}
			for _, nb := range ctr.GetNetworkBindings() {
				if nb.GetContainerPort() != lb.GetContainerPort() || nb.GetHostPort() == 0 {
					continue
				}
				if instanceID == "" && t.InstanceId != "" {
					if ci, err := c.cfg.Store.ContainerInstance(rec.Cluster, t.InstanceId); err == nil && ci != nil {
						instanceID = ci.GetInstance().GetEc2InstanceId()
					}
				}
				out = append(out, Target{TargetGroupArn: lb.GetTargetGroupArn(), InstanceID: instanceID, Port: nb.GetHostPort()})
				break
			}
		}
	}
	return out
}

// balanced says whether the service's tasks are registered with load
// balancers.
func (c *Controller) balanced(rec *berthv1.ServiceRecord) bool {
	return c.cfg.LoadBalancers != nil && len(rec.Service.GetLoadBalancers()) > 0
}

// balance registers the service's RUNNING tasks with its target groups,
// moves the DEACTIVATING ones whose targets have drained on to STOPPING
// (their agents stop them then), stops those whose target failed its
// health checks after the service's grace period (ECS replaces them), and
// returns each running task's health as its targets tell it: HEALTHY when
// every target is healthy, UNHEALTHY when one failed, "" otherwise.
func (a *action) balance(ctx context.Context) (map[string]string, error) {
	c := a.c
	if !c.balanced(a.rec) {
		return nil, a.finishDeactivating(ctx)
	}
	grace := time.Duration(a.rec.Service.GetHealthCheckGracePeriodSeconds()) * time.Second
	now := c.cfg.Now()
	health := map[string]string{}
	var failed []string
	for _, t := range a.tasks {
		if t.Task.GetLastStatus() == store.TaskDeactivating {
			continue // finishDeactivating's
		}
		if t.Task.GetLastStatus() != store.TaskRunning || t.Task.GetDesiredStatus() != store.TaskRunning {
			if old, ok := c.targets.LoadAndDelete(t.Id); ok { // stopped by itself, or after its health checks failed
				for _, tg := range old.([]Target) {
					if _, err := c.cfg.LoadBalancers.Deregister(ctx, tg); err != nil {
						a.say("(service %s) failed to deregister targets in (target-group %s) with (error %v)", a.rec.Service.ServiceName, tg.TargetGroupArn, err)
					}
				}
			}
			continue
		}
		targets := c.targetsOf(a.rec, t)
		if len(targets) == 0 {
			continue
		}
		c.targets.Store(t.Id, targets)
		all := "HEALTHY"
		for _, tg := range targets {
			if err := c.cfg.LoadBalancers.Register(ctx, tg); err != nil {
				// ECS's event; the task is not counted healthy meanwhile.
				a.say("(service %s) failed to register targets in (target-group %s) with (error %v)", a.rec.Service.ServiceName, tg.TargetGroupArn, err)
				all = ""
				continue
			}
			switch c.cfg.LoadBalancers.TargetHealth(tg) {
			case "healthy":
			case "unhealthy":
				if now.Sub(fromEpoch(t.Task.GetStartedAt())) >= grace {
					if all != "UNHEALTHY" {
						a.say("(service %s) (task %s) failed ELB health checks in (target-group %s)", a.rec.Service.ServiceName, t.Id, tg.TargetGroupArn)
						failed = append(failed, t.Id)
					}
					all = "UNHEALTHY"
				} else if all == "HEALTHY" {
					all = ""
				}
			default:
				if all == "HEALTHY" {
					all = ""
				}
			}
		}
		health[t.Id] = all
	}
	if err := a.finishDeactivating(ctx); err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		_, err := c.cfg.Store.Apply(ctx, &berthv1.Command{At: toEpoch(now), Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
			Cluster: a.rec.Cluster, Ids: failed, StopCode: service.StopSchedulerInitiated, Reason: elbHealthReason + c.targetsOf(a.rec, a.task(failed[0]))[0].TargetGroupArn + ")",
		}}})
		if err != nil {
			return nil, err
		}
	}
	return health, nil
}

// finishDeactivating moves each DEACTIVATING task whose targets no longer
// drain on to STOPPING, when its agent is told to stop it. It asks the load
// balancers again each time (the store is the only state: a restarted
// control plane finishes what the last one started).
func (a *action) finishDeactivating(ctx context.Context) error {
	c := a.c
	now := c.cfg.Now()
	byInstance := map[string][]*berthv1.TaskStateChange{}
	for _, t := range a.tasks {
		if t.Task.GetLastStatus() != store.TaskDeactivating {
			continue
		}
		wait := false
		if c.cfg.LoadBalancers != nil {
			for _, tg := range a.targetsOfLeaving(t) {
				until, err := c.cfg.LoadBalancers.Deregister(ctx, tg)
				if err == nil && until.After(now) {
					wait = true
				}
			}
		}
		if !wait {
			c.targets.Delete(t.Id)
			byInstance[t.InstanceId] = append(byInstance[t.InstanceId], &berthv1.TaskStateChange{TaskArn: t.Task.TaskArn, LastStatus: store.TaskStopping})
		}
	}
	var stopped []string
	for instance, changes := range byInstance {
		if err := a.report(ctx, instance, changes); err != nil {
			return err
		}
		for _, ch := range changes {
			stopped = append(stopped, lastPart(ch.TaskArn))
		}
	}
	if len(stopped) > 0 {
		a.say("(service %s) has stopped %d running tasks: %s.", a.rec.Service.ServiceName, len(stopped), taskList(stopped))
	}
	return nil
}

// report stores task state changes the service scheduler makes itself
// (DEACTIVATING and on), as an agent's report would.
func (a *action) report(ctx context.Context, instance string, changes []*berthv1.TaskStateChange) error {
	_, err := a.c.cfg.Store.Apply(ctx, &berthv1.Command{At: toEpoch(a.c.cfg.Now()), Change: &berthv1.Command_UpdateTaskStates{
		UpdateTaskStates: &berthv1.UpdateTaskStatesCommand{Cluster: a.rec.Cluster, InstanceId: instance, Changes: changes},
	}})
	return err
}

// targetsOfLeaving are the targets of a task on its way out: those of its
// bindings, or those it was registered with.
func (a *action) targetsOfLeaving(t *berthv1.TaskRecord) []Target {
	targets := a.c.targetsOf(a.rec, t)
	if old, ok := a.c.targets.Load(t.Id); ok && len(targets) == 0 {
		targets = old.([]Target)
	}
	return targets
}

func (a *action) task(id string) *berthv1.TaskRecord {
	for _, t := range a.tasks {
		if t.Id == id {
			return t
		}
	}
	return &berthv1.TaskRecord{Task: &berthv1.Task{}}
}

// drain starts the deregistration of the tasks about to be stopped and
// returns those that may stop now. A task with targets still draining
// becomes DEACTIVATING (desiredStatus STOPPED, with the stop's code and
// reason, as ECS shows it): it keeps running, taking no new requests, until
// the delay ends and finishDeactivating moves it on to STOPPING.
func (a *action) drain(ctx context.Context, ids []string, reason string) ([]string, error) {
	c := a.c
	if !c.balanced(a.rec) {
		return ids, nil
	}
	now := c.cfg.Now()
	var ready []string
	byInstance := map[string][]*berthv1.TaskStateChange{}
	for _, id := range ids {
		t := a.task(id)
		wait := false
		for _, tg := range a.targetsOfLeaving(t) {
			until, err := c.cfg.LoadBalancers.Deregister(ctx, tg)
			if err != nil { // a target group gone: nothing to drain
				a.say("(service %s) failed to deregister targets in (target-group %s) with (error %v)", a.rec.Service.ServiceName, tg.TargetGroupArn, err)
				continue
			}
			wait = wait || until.After(now)
		}
		if !wait || t.InstanceId == "" || t.Task.GetLastStatus() != store.TaskRunning {
			ready = append(ready, id)
			continue
		}
		byInstance[t.InstanceId] = append(byInstance[t.InstanceId], &berthv1.TaskStateChange{TaskArn: t.Task.TaskArn,
			LastStatus: store.TaskDeactivating, StopCode: service.StopSchedulerInitiated, StoppedReason: reason})
	}
	n := 0
	for instance, changes := range byInstance {
		if err := a.report(ctx, instance, changes); err != nil {
			return nil, err
		}
		n += len(changes)
	}
	if n > 0 {
		a.say("(service %s) has begun draining connections on %d tasks.", a.rec.Service.ServiceName, n)
	}
	return ready, nil
}
