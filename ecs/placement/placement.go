// Package placement turns placement decisions into stored tasks: it builds
// the scheduler's snapshot of a cluster from the store, asks scheduler.Place
// where tasks go, builds the task records and stores them with the store's
// re-check of fit, placing again what a concurrent placement beat it to.
// RunTask, StartTask and the service controller all place through it.
//
// It validates nothing the user typed (the API handlers do) beyond turning
// strategies and constraints into the scheduler's types.
package placement

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// attempts bounds how often Place places again tasks that the store refused
// because another placement took the room first.
const attempts = 3

// Placer places tasks of one control plane. One is built, by New, and shared
// by everything that places (RunTask and StartTask, the service controller,
// the Fargate pool and the capacity providers), so that they share its clock
// and its cache of converted instances.
type Placer struct {
	Store *store.Store
	ARNs  arn.Namer
	// Now is the control plane's clock: it dates every command the Placer
	// applies and every task id it makes. nil is time.Now.
	Now func() time.Time
	// ExplainUpTo is the largest cluster (in instances) whose placements
	// are explained and the explanation stored with the task: explaining
	// ranks every instance for every task instead of using the scheduler's
	// indexes. 0 means DefaultExplainUpTo.
	ExplainUpTo int

	converted converted // see Snapshot
}

// DefaultExplainUpTo is ExplainUpTo's default: a classroom's clusters and
// more, well below the sizes where explaining would slow placement.
const DefaultExplainUpTo = 1000

// New returns the control plane's Placer.
func New(st *store.Store, arns arn.Namer, now func() time.Time) *Placer {
	return &Placer{Store: st, ARNs: arns, Now: now}
}

func (p *Placer) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Apply dates cmd by the Placer's clock and applies it.
func (p *Placer) Apply(ctx context.Context, cmd *berthv1.Command) (any, error) {
	cmd.At = float64(p.now().UnixNano()) / 1e9
	return p.Store.Apply(ctx, cmd)
}

func (p *Placer) explainUpTo() int {
	if p.ExplainUpTo == 0 {
		return DefaultExplainUpTo
	}
	return p.ExplainUpTo
}

// Plan is what is placed: count tasks of one task definition, alike.
type Plan struct {
	Cluster   string
	TaskDef   *berthv1.TaskDefinitionRecord
	Overrides *berthv1.TaskOverride
	Group     string
	StartedBy string
	Tags      []*berthv1.Tag
	// Limits are each task's sizes after overrides, and Need what each task
	// holds on its instance (see Limits and Reservation).
	Limits *berthv1.TaskLimits
	Need   *berthv1.Resources
	// CapacityProvider, when set, is the EC2 capacity provider the tasks
	// run on: only its instances are candidates, and the tasks name it.
	CapacityProvider string
	// EnableExecuteCommand lets berth exec run commands in the tasks.
	EnableExecuteCommand bool
}

// NewPlan is a plan with its reservation worked out.
func NewPlan(cluster string, td *berthv1.TaskDefinitionRecord, overrides *berthv1.TaskOverride, group, startedBy string, tags []*berthv1.Tag) *Plan {
	limits := Limits(td.TaskDefinition, overrides)
	return &Plan{Cluster: cluster, TaskDef: td, Overrides: overrides, Group: group, StartedBy: startedBy, Tags: tags,
		Limits: limits, Need: Reservation(td.TaskDefinition, limits)}
}

// Result is what Place stored and what it could not place.
type Result struct {
	Tasks    []*berthv1.TaskRecord
	Failures []scheduler.Failure
	// Lost counts tasks that lost their place to concurrent placements every
	// time they were placed.
	Lost int
}

// Place places count tasks of the plan with the strategies and constraints.
func (p *Placer) Place(ctx context.Context, plan *Plan, count int, strategies []scheduler.Strategy, constraints []scheduler.Constraint) (Result, error) {
	var out Result
	for attempt := 0; attempt < attempts && count > 0; attempt++ {
		snap, ids := p.ProviderSnapshot(plan.Cluster, plan.CapacityProvider, snapshotGroups(plan, constraints)...)
		req := plan.Request(count, strategies, constraints)
		req.Explain = len(snap.Instances()) <= p.explainUpTo()
		result, err := snap.Place(req)
		if err != nil {
			return out, err
		}
		out.Failures = append(out.Failures, result.Failures...)
		var tasks []*berthv1.TaskRecord
		for _, pl := range result.Placements {
			in := snap.Instances()[pl.Instance]
			t := p.NewTask(plan, ids[pl.Instance], in.Attributes[scheduler.AttributeAvailabilityZone])
			t.Placement = Explanation(pl.Explanation)
			tasks = append(tasks, t)
		}
		placed, refused, err := p.store(ctx, plan.Cluster, tasks)
		if err != nil {
			return out, err
		}
		out.Tasks = append(out.Tasks, placed...)
		count = len(refused)
	}
	out.Lost = count
	return out, nil
}

// snapshotGroups are the task groups a placement reads counts of: the
// plan's, unless a memberOf constraint may read any group's.
func snapshotGroups(plan *Plan, constraints []scheduler.Constraint) []string {
	for _, c := range constraints {
		if c.Type == scheduler.ConstraintMemberOf {
			return nil
		}
	}
	return []string{plan.Group}
}

// PlaceOn places one task of the plan on each named instance (StartTask,
// DAEMON services): no strategies, but the instance must have room. The
// failures are ECS's, with the refusing instance's ARN.
func (p *Placer) PlaceOn(ctx context.Context, plan *Plan, instanceIDs []string) ([]*berthv1.TaskRecord, []*berthv1.Failure, error) {
	var tasks []*berthv1.TaskRecord
	var failures []*berthv1.Failure
	for _, id := range instanceIDs {
		in, err := p.Store.ContainerInstance(plan.Cluster, id)
		if err != nil || store.IsPoolHost(in) { // Fargate pool hosts are hidden
			failures = append(failures, &berthv1.Failure{Arn: p.ARNs.ContainerInstance(plan.Cluster, id), Reason: "MISSING"})
			continue
		}
		t := p.NewTask(plan, id, attribute(in, scheduler.AttributeAvailabilityZone))
		t.Placement = &berthv1.PlacementExplanation{Candidates: 1, NamedInstance: true}
		tasks = append(tasks, t)
	}
	placed, refused, err := p.store(ctx, plan.Cluster, tasks)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range refused {
		for _, t := range tasks { // say which instance refused, not the task that was never made
			if t.Task.TaskArn == f.Arn {
				f.Arn = t.Task.ContainerInstanceArn
			}
		}
		failures = append(failures, f)
	}
	return placed, failures, nil
}

// store stores placed tasks and returns what was stored and what the store
// refused.
func (p *Placer) store(ctx context.Context, cluster string, tasks []*berthv1.TaskRecord) ([]*berthv1.TaskRecord, []*berthv1.Failure, error) {
	if len(tasks) == 0 {
		return nil, nil, nil
	}
	res, err := p.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_PlaceTasks{
		PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: cluster, Tasks: tasks},
	}})
	if err != nil {
		return nil, nil, err
	}
	r := res.(*berthv1.PlaceTasksResult)
	return r.Placed, r.Failures, nil
}

// Failure is a scheduler failure as ECS reports it.
func Failure(f scheduler.Failure) *berthv1.Failure {
	out := &berthv1.Failure{Reason: f.Reason, Detail: f.Detail}
	if f.Closest != nil {
		out.Arn = f.Closest.ARN
	}
	return out
}

// Explanation is the scheduler's explanation as stored (nil for nil).
func Explanation(e *scheduler.Explanation) *berthv1.PlacementExplanation {
	if e == nil {
		return nil
	}
	out := &berthv1.PlacementExplanation{Candidates: int32(e.Candidates), TieBreak: e.TieBreak}
	for _, st := range e.Steps {
		out.Steps = append(out.Steps, &berthv1.RankStep{Strategy: st.Strategy, Candidates: int32(st.Candidates), Best: int32(st.Best), Score: st.Score})
	}
	return out
}

// PlacementFailure is a scheduler failure as stored for ExplainService, at
// time at (seconds since the epoch).
func PlacementFailure(f scheduler.Failure, at float64) *berthv1.PlacementFailure {
	out := &berthv1.PlacementFailure{Reason: f.Reason, Detail: f.Detail, At: at}
	for _, fc := range f.Filtered {
		out.Filtered = append(out.Filtered, &berthv1.FilterCount{Filter: fc.Filter, RuledOut: int32(fc.RuledOut)})
	}
	if c := f.Closest; c != nil {
		out.Closest = &berthv1.ClosestInstance{ContainerInstanceArn: c.ARN, Lacks: c.Lacks,
			Cpu: int32(c.Shortfall.CPU), Memory: int32(c.Shortfall.Memory), Gpu: int32(c.Shortfall.GPU)}
	}
	return out
}

// Rules converts strategies and constraints, plus the task definition's
// memberOf constraints, to the scheduler's types. Errors name the field.
func Rules(td *berthv1.TaskDefinition, ps []*berthv1.PlacementStrategy, pc []*berthv1.PlacementConstraint) ([]scheduler.Strategy, []scheduler.Constraint, error) {
	var strategies []scheduler.Strategy
	for i, st := range ps {
		s := scheduler.Strategy{Type: st.GetType(), Field: st.GetField()}
		if err := s.Validate(); err != nil {
			return nil, nil, fieldError(fmt.Sprintf("placementStrategy[%d]", i), err)
		}
		strategies = append(strategies, s)
	}
	if err := scheduler.ValidateStrategies(strategies); err != nil {
		return nil, nil, fieldError("placementStrategy", err)
	}
	var constraints []scheduler.Constraint
	add := func(path, typ, expr string) error {
		c := scheduler.Constraint{Type: typ, Expression: expr}
		var err error
		if typ == scheduler.ConstraintMemberOf {
			c, err = scheduler.MemberOf(expr)
		}
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			return fieldError(path, err)
		}
		constraints = append(constraints, c)
		return nil
	}
	for i, c := range pc {
		if err := add(fmt.Sprintf("placementConstraints[%d]", i), c.GetType(), c.GetExpression()); err != nil {
			return nil, nil, err
		}
	}
	for i, c := range td.PlacementConstraints {
		if err := add(fmt.Sprintf("taskDefinition.placementConstraints[%d]", i), c.GetType(), c.GetExpression()); err != nil {
			return nil, nil, err
		}
	}
	if err := scheduler.ValidateConstraints(constraints); err != nil {
		return nil, nil, fieldError("placementConstraints", fmt.Errorf("%w (the task definition's count too)", err))
	}
	return strategies, constraints, nil
}

// NewID is a random 32-hex-digit id, as ECS's task and instance ids.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewTaskID is a task id of ECS's shape (32 hex digits) that starts with the
// time in milliseconds, the rest random: tasks placed together sit together
// in the store's key order, so the state reports that follow them rewrite
// few pages of the file, not one page per task.
func NewTaskID(now time.Time) string {
	b := make([]byte, 16)
	rand.Read(b[6:])
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return hex.EncodeToString(b)
}

func randomSeed() uint64 {
	b := make([]byte, 8)
	rand.Read(b)
	return binary.BigEndian.Uint64(b)
}

func attribute(in *berthv1.ContainerInstanceRecord, name string) string {
	for _, a := range in.Instance.GetAttributes() {
		if a.GetName() == name {
			return a.GetValue()
		}
	}
	return ""
}

func fieldError(path string, err error) error { return ecserr.Param(path, "%v", err) }
