package dashboard

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/dashboard/loadgen"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/store"
)

// The snapshot's shapes. They are the page's model: a "delta" event carries
// the same objects.

// State is one cluster as the page draws it.
type State struct {
	Revision  uint64     `json:"revision"`
	Cluster   string     `json:"cluster"`
	Clusters  []string   `json:"clusters"`
	Instances []Instance `json:"instances"`
	Tasks     []Task     `json:"tasks"`
	Services  []Service  `json:"services"`
	Controls  Controls   `json:"controls"`
	// Views are the services' panels (account-wide, not the cluster's).
	Views *Views `json:"views"`
}

// Instance is a container instance: a bin.
type Instance struct {
	ID             string `json:"id"`
	EC2InstanceID  string `json:"ec2InstanceId,omitempty"`
	Status         string `json:"status"`
	StatusReason   string `json:"statusReason,omitempty"`
	AgentConnected bool   `json:"agentConnected"`
	Zone           string `json:"zone"`
	InstanceType   string `json:"instanceType"`
	// Lane is "ec2", or "fargate" for the Fargate pool's hosts.
	Lane string `json:"lane"`
	// Registered and allocated CPU units and MiB.
	CPU          int32 `json:"cpu"`
	Memory       int32 `json:"memory"`
	CPUUsed      int32 `json:"cpuUsed"`
	MemoryUsed   int32 `json:"memoryUsed"`
	RunningTasks int32 `json:"runningTasks"`
	PendingTasks int32 `json:"pendingTasks"`
}

// Task is a task that is not STOPPED: a block in its instance's bin.
type Task struct {
	ID            string  `json:"id"`
	Instance      string  `json:"instance"` // "" while not placed
	Group         string  `json:"group"`
	Service       string  `json:"service"` // "" for a standalone task
	TaskDef       string  `json:"taskDefinition"`
	LastStatus    string  `json:"lastStatus"`
	DesiredStatus string  `json:"desiredStatus"`
	LaunchType    string  `json:"launchType,omitempty"`
	CPU           int32   `json:"cpu"`
	Memory        int32   `json:"memory"`
	CreatedAt     float64 `json:"createdAt"`
}

// Service is a service's counts, deployments, latest events and, when it
// has tasks it cannot place, the latest placement failure.
type Service struct {
	Name        string       `json:"name"`
	Status      string       `json:"status"`
	Scheduling  string       `json:"schedulingStrategy"`
	TaskDef     string       `json:"taskDefinition"`
	Desired     int32        `json:"desiredCount"`
	Running     int32        `json:"runningCount"`
	Pending     int32        `json:"pendingCount"`
	Strategy    string       `json:"placementStrategy"` // as ECS writes it: "binpack(memory)"
	Deployments []Deployment `json:"deployments"`
	Events      []Event      `json:"events"`
	Failure     *Failure     `json:"placementFailure,omitempty"`
}

// Deployment is one of a service's deployments.
type Deployment struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	TaskDef      string `json:"taskDefinition"`
	Desired      int32  `json:"desiredCount"`
	Running      int32  `json:"runningCount"`
	Pending      int32  `json:"pendingCount"`
	Failed       int32  `json:"failedTasks"`
	RolloutState string `json:"rolloutState"`
	RolloutWhy   string `json:"rolloutStateReason,omitempty"`
}

// Event is a service event.
type Event struct {
	ID        string  `json:"id"`
	CreatedAt float64 `json:"createdAt"`
	Message   string  `json:"message"`
}

// Failure is why a service's task could not be placed (ExplainService).
type Failure struct {
	Reason   string        `json:"reason"`
	Detail   string        `json:"detail"`
	Filtered []FilterCount `json:"filtered"`
	Closest  *Closest      `json:"closest,omitempty"`
	At       float64       `json:"at"`
}

// FilterCount is how many instances one filter ruled out.
type FilterCount struct {
	Filter   string `json:"filter"`
	RuledOut int32  `json:"ruledOut"`
}

// Closest is the instance that missed the fewest requirements.
type Closest struct {
	Instance string   `json:"instance"`
	Lacks    []string `json:"lacks"`
	CPU      int32    `json:"cpu"`
	Memory   int32    `json:"memory"`
	GPU      int32    `json:"gpu"`
}

// Controls is what the page offers behind the admin token.
type Controls struct {
	AddInstance     bool           `json:"addInstance"`
	AddInstanceNote string         `json:"addInstanceNote,omitempty"`
	InstanceTypes   []InstanceType `json:"instanceTypes"`
	Strategies      []string       `json:"strategies"`
	// Load says whether the scaling panel's load generator is offered, and
	// LoadRate and LoadSeconds what its button sends.
	Load        bool `json:"load"`
	LoadRate    int  `json:"loadRate,omitempty"`
	LoadSeconds int  `json:"loadSeconds,omitempty"`
}

// eventsKept is how many of a service's latest events the page gets.
const eventsKept = 8

// state is GET /dashboard/api/state.
func (d *Dashboard) state(w http.ResponseWriter, r *http.Request) {
	cluster, err := d.cluster(r)
	if err != nil {
		writeError(w, err, "cluster")
		return
	}
	writeJSON(w, http.StatusOK, d.snapshot(r.Context(), cluster))
}

// cluster is the request's ?cluster= ("default" when absent), which must
// exist.
func (d *Dashboard) cluster(r *http.Request) (string, error) {
	name := r.URL.Query().Get("cluster")
	if name == "" {
		name = ecsapi.DefaultCluster
	}
	if i := strings.LastIndex(name, "/"); i >= 0 { // an ARN
		name = name[i+1:]
	}
	cl, err := d.cfg.Store.Cluster(name)
	if err != nil {
		return "", err
	}
	if cl.GetStatus() != store.StatusActive {
		return "", apierr.New(apierr.NotFound, store.ReasonClusterNotFound, "cluster %q is %s", name, cl.GetStatus())
	}
	return name, nil
}

func (d *Dashboard) snapshot(ctx context.Context, cluster string) *State {
	st := d.cfg.Store
	out := &State{Revision: st.Revision(), Cluster: cluster, Controls: d.controls(), Views: d.views(ctx)}
	out.Clusters = d.clusters()
	for _, rec := range st.ContainerInstances(cluster, func(rec *berthv1.ContainerInstanceRecord) bool {
		return rec.GetInstance().GetStatus() != "INACTIVE"
	}) {
		out.Instances = append(out.Instances, instance(rec))
	}
	for _, rec := range st.Tasks(cluster, live) {
		out.Tasks = append(out.Tasks, task(rec))
	}
	for _, rec := range st.Services(cluster, nil) {
		if rec.GetService().GetStatus() == "INACTIVE" {
			continue
		}
		out.Services = append(out.Services, d.service(ctx, rec))
	}
	sort.Slice(out.Instances, func(i, j int) bool {
		a, b := out.Instances[i], out.Instances[j]
		if a.Zone != b.Zone {
			return a.Zone < b.Zone
		}
		return a.ID < b.ID
	})
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Name < out.Services[j].Name })
	if out.Instances == nil {
		out.Instances = []Instance{}
	}
	if out.Tasks == nil {
		out.Tasks = []Task{}
	}
	if out.Services == nil {
		out.Services = []Service{}
	}
	return out
}

func (d *Dashboard) clusters() []string {
	names, _, err := d.cfg.Store.Clusters("", 1000)
	if err != nil || names == nil {
		return []string{}
	}
	return names
}

func (d *Dashboard) controls() Controls {
	c := Controls{AddInstance: d.cfg.AddInstance != nil, InstanceTypes: InstanceTypes(), Strategies: strategyNames()}
	if d.cfg.Load != nil {
		c.Load, c.LoadRate, c.LoadSeconds = true, loadgen.MaxRate, int(loadgen.MaxDuration/time.Second)
	}
	if !c.AddInstance {
		c.AddInstanceNote = "this control plane cannot start instances (run it with -dev to add hollow ones)"
	}
	return c
}

// live keeps tasks that are not STOPPED.
func live(t *berthv1.TaskRecord) bool { return t.GetTask().GetLastStatus() != "STOPPED" }

// poolAttribute and poolFargate mark the Fargate pool's hosts (the store's
// PoolAttribute and PoolFargate).
const (
	poolAttribute = "berth.pool"
	poolFargate   = "fargate"
)

func attribute(in *berthv1.ContainerInstance, name string) string {
	for _, a := range in.GetAttributes() {
		if a.GetName() == name {
			return a.GetValue()
		}
	}
	return ""
}

func instance(rec *berthv1.ContainerInstanceRecord) Instance {
	in := rec.GetInstance()
	lane := "ec2"
	if attribute(in, poolAttribute) == poolFargate {
		lane = "fargate"
	}
	return Instance{
		ID: rec.GetId(), EC2InstanceID: in.GetEc2InstanceId(),
		Status: in.GetStatus(), StatusReason: in.GetStatusReason(), AgentConnected: in.GetAgentConnected(),
		Zone: attribute(in, "ecs.availability-zone"), InstanceType: attribute(in, "ecs.instance-type"), Lane: lane,
		CPU: rec.GetRegistered().GetCpu(), Memory: rec.GetRegistered().GetMemory(),
		CPUUsed: rec.GetAllocated().GetCpu(), MemoryUsed: rec.GetAllocated().GetMemory(),
		RunningTasks: rec.GetRunningTasks(), PendingTasks: rec.GetPendingTasks(),
	}
}

func task(rec *berthv1.TaskRecord) Task {
	t := rec.GetTask()
	svc, _ := strings.CutPrefix(t.GetGroup(), "service:")
	if svc == t.GetGroup() {
		svc = ""
	}
	return Task{
		ID: rec.GetId(), Instance: rec.GetInstanceId(), Group: t.GetGroup(), Service: svc,
		TaskDef: shortTaskDef(t.GetTaskDefinitionArn()), LastStatus: t.GetLastStatus(), DesiredStatus: t.GetDesiredStatus(),
		LaunchType: t.GetLaunchType(),
		CPU:        rec.GetReservation().GetCpu(), Memory: rec.GetReservation().GetMemory(), CreatedAt: t.GetCreatedAt(),
	}
}

// shortTaskDef is "family:revision" of a task definition ARN.
func shortTaskDef(a string) string {
	if i := strings.LastIndex(a, "/"); i >= 0 {
		return a[i+1:]
	}
	return a
}

// lastPart is the id at the end of an ARN.
func lastPart(a string) string {
	if i := strings.LastIndex(a, "/"); i >= 0 {
		return a[i+1:]
	}
	return a
}

func strategyText(ps []*berthv1.PlacementStrategy) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.GetField() == "" {
			parts = append(parts, p.GetType())
			continue
		}
		parts = append(parts, p.GetType()+"("+p.GetField()+")")
	}
	return strings.Join(parts, ", ")
}

func (d *Dashboard) service(ctx context.Context, rec *berthv1.ServiceRecord) Service {
	s := rec.GetService()
	out := Service{
		Name: s.GetServiceName(), Status: s.GetStatus(), Scheduling: s.GetSchedulingStrategy(),
		TaskDef: shortTaskDef(s.GetTaskDefinition()),
		Desired: s.GetDesiredCount(), Running: s.GetRunningCount(), Pending: s.GetPendingCount(),
		Strategy: strategyText(s.GetPlacementStrategy()), Deployments: []Deployment{}, Events: []Event{},
	}
	for _, dep := range s.GetDeployments() {
		out.Deployments = append(out.Deployments, Deployment{
			ID: dep.GetId(), Status: dep.GetStatus(), TaskDef: shortTaskDef(dep.GetTaskDefinition()),
			Desired: dep.GetDesiredCount(), Running: dep.GetRunningCount(), Pending: dep.GetPendingCount(),
			Failed: dep.GetFailedTasks(), RolloutState: dep.GetRolloutState(), RolloutWhy: dep.GetRolloutStateReason(),
		})
	}
	// An EXTERNAL service's task sets are its deployments (ECS counts them
	// as such): shown with their computed count and stability.
	for _, ts := range s.GetTaskSets() {
		out.Deployments = append(out.Deployments, Deployment{
			ID: ts.GetId(), Status: ts.GetStatus(), TaskDef: shortTaskDef(ts.GetTaskDefinition()),
			Desired: ts.GetComputedDesiredCount(), Running: ts.GetRunningCount(), Pending: ts.GetPendingCount(),
			RolloutState: ts.GetStabilityStatus(), RolloutWhy: "task set at " + strconv.FormatFloat(ts.GetScale().GetValue(), 'f', -1, 64) + " %",
		})
	}
	events := s.GetEvents()
	// ECS lists a service's events newest first; keep the newest few.
	sorted := make([]*berthv1.ServiceEvent, len(events))
	copy(sorted, events)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].GetCreatedAt() > sorted[j].GetCreatedAt() })
	for i, e := range sorted {
		if i == eventsKept {
			break
		}
		out.Events = append(out.Events, Event{ID: e.GetId(), CreatedAt: e.GetCreatedAt(), Message: e.GetMessage()})
	}
	if rec.GetPlacementFailure() != nil {
		out.Failure = d.explainService(ctx, rec.GetCluster(), s.GetServiceName())
	}
	return out
}

// explainService is berth's ExplainService of the service, in the page's
// shape (nil if it has no failure).
func (d *Dashboard) explainService(ctx context.Context, cluster, name string) *Failure {
	res, err := d.cfg.API.Berth().ExplainService(ctx, &berthv1.ExplainServiceRequest{Cluster: cluster, Service: name})
	if err != nil || res.GetFailure() == nil {
		return nil
	}
	f := res.GetFailure()
	out := &Failure{Reason: f.GetReason(), Detail: f.GetDetail(), At: f.GetAt(), Filtered: []FilterCount{}}
	for _, c := range f.GetFiltered() {
		out.Filtered = append(out.Filtered, FilterCount{Filter: c.GetFilter(), RuledOut: c.GetRuledOut()})
	}
	if c := f.GetClosest(); c != nil {
		out.Closest = &Closest{Instance: lastPart(c.GetContainerInstanceArn()), Lacks: c.GetLacks(),
			CPU: c.GetCpu(), Memory: c.GetMemory(), GPU: c.GetGpu()}
		if out.Closest.Lacks == nil {
			out.Closest.Lacks = []string{}
		}
	}
	return out
}
