package servicehistory

import (
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
)

// MaxDeployments is how many service deployments a service keeps (the
// newest), with the revisions they name.
const MaxDeployments = 50

// Service deployment statuses, as ECS names them.
const (
	StatusInProgress         = "IN_PROGRESS"
	StatusSuccessful         = "SUCCESSFUL"
	StatusStopped            = "STOPPED"
	StatusRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	StatusRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
	StatusRollbackFailed     = "ROLLBACK_FAILED"
)

// Statuses are every status ECS's ListServiceDeployments filter takes.
var Statuses = []string{"PENDING", StatusSuccessful, StatusStopped, "STOP_REQUESTED", StatusInProgress,
	"ROLLBACK_REQUESTED", StatusRollbackInProgress, StatusRollbackSuccessful, StatusRollbackFailed}

const (
	reasonBreaker    = "ECS deployment circuit breaker: tasks failed to start."
	reasonSuperseded = "A newer service deployment replaced it before it finished."
)

// Rollback says which deployment a rollback deployment rolls back (Of) and
// to which COMPLETED one (To).
type Rollback struct{ Of, To string }

// Change is what Update needs besides the record.
type Change struct {
	ARNs arn.Namer
	Now  float64
	// NewID draws a service deployment id.
	NewID func() string
	// Rollbacks are the deployments the circuit breaker just started, by id.
	Rollbacks map[string]Rollback
	// Images are the container images of a task definition ARN, for a new
	// revision (nil: none known).
	Images func(taskDefinition string) []*berthv1.ContainerImage
}

// Update brings the record's history up to date with its deployments: a
// revision and a service deployment for each new deployment (a rollback's
// joins the one it rolls back), each unfinished service deployment's
// status and counts, the service's currentServiceDeployment and
// currentServiceRevisions; the newest MaxDeployments are kept.
func Update(rec *berthv1.ServiceRecord, c Change) {
	svc := rec.Service
	carried := map[string]*berthv1.ServiceDeploymentRecord{}
	for _, sd := range rec.ServiceDeployments {
		for _, id := range sd.DeploymentIds {
			carried[id] = sd
		}
	}
	for i := len(svc.Deployments) - 1; i >= 0; i-- { // oldest first
		dep := svc.Deployments[i]
		if carried[dep.Id] != nil {
			continue
		}
		if rb, ok := c.Rollbacks[dep.Id]; ok && carried[rb.Of] != nil {
			sd := carried[rb.Of]
			sd.DeploymentIds = append(sd.DeploymentIds, dep.Id)
			sd.Deployment.Rollback = &berthv1.Rollback{Reason: reasonBreaker, StartedAt: c.Now,
				ServiceRevisionArn: revisionFor(rec, c, rb.To, dep)}
			carried[dep.Id] = sd
			continue
		}
		sd := newServiceDeployment(rec, c, dep)
		rec.ServiceDeployments = append([]*berthv1.ServiceDeploymentRecord{sd}, rec.ServiceDeployments...)
		carried[dep.Id] = sd
	}
	byID := map[string]*berthv1.Deployment{}
	for _, dep := range svc.Deployments {
		byID[dep.Id] = dep
	}
	for _, sd := range rec.ServiceDeployments {
		follow(sd, byID, c.Now)
	}
	trim(rec)
	current(rec, c)
}

// newServiceDeployment starts the service deployment of a new deployment,
// with a new revision of the service as it is now.
func newServiceDeployment(rec *berthv1.ServiceRecord, c Change, dep *berthv1.Deployment) *berthv1.ServiceDeploymentRecord {
	svc := rec.Service
	rev := newRevision(rec, c, dep)
	rec.ServiceRevisions = append(rec.ServiceRevisions, rev)
	var sources []*berthv1.ServiceRevisionSummary
	for _, other := range svc.Deployments {
		if other.Id == dep.Id {
			continue
		}
		if a := revisionOf(rec, other.Id); a != "" {
			sources = append(sources, &berthv1.ServiceRevisionSummary{Arn: a, RequestedTaskCount: proto.Int32(other.GetDesiredCount()),
				RunningTaskCount: proto.Int32(other.GetRunningCount()), PendingTaskCount: proto.Int32(other.GetPendingCount())})
		}
	}
	cfg := svc.GetDeploymentConfiguration()
	breaker := &berthv1.ServiceDeploymentCircuitBreaker{Status: "DISABLED", FailureCount: proto.Int32(0), Threshold: proto.Int32(0)}
	if cfg.GetDeploymentCircuitBreaker().GetEnable() {
		breaker.Status = "MONITORING"
		breaker.Threshold = proto.Int32(threshold(svc.GetDesiredCount()))
	}
	alarms := &berthv1.ServiceDeploymentAlarms{Status: "DISABLED"}
	if a := cfg.GetAlarms(); a.GetEnable() {
		alarms.Status, alarms.AlarmNames = "MONITORING", a.GetAlarmNames()
	}
	return &berthv1.ServiceDeploymentRecord{
		DeploymentIds: []string{dep.Id},
		Deployment: &berthv1.ServiceDeployment{
			ServiceDeploymentArn: c.ARNs.ServiceDeployment(rec.Cluster, svc.ServiceName, c.NewID()),
			ServiceArn:           c.ARNs.Service(rec.Cluster, svc.ServiceName), ClusterArn: c.ARNs.Cluster(rec.Cluster),
			CreatedAt: dep.CreatedAt, StartedAt: dep.CreatedAt, UpdatedAt: c.Now,
			SourceServiceRevisions: sources,
			TargetServiceRevision: &berthv1.ServiceRevisionSummary{Arn: rev.ServiceRevisionArn, RequestedTaskCount: proto.Int32(dep.GetDesiredCount()),
				RunningTaskCount: proto.Int32(0), PendingTaskCount: proto.Int32(0)},
			Status:                   StatusInProgress,
			DeploymentConfiguration:  proto.Clone(cfg).(*berthv1.DeploymentConfiguration),
			DeploymentCircuitBreaker: breaker, Alarms: alarms,
		},
	}
}

// threshold is the circuit breaker's, as ECS's (and ecs/service's).
func threshold(desired int32) int32 { return min(max((desired+1)/2, 10), 200) }

// newRevision is the service as it runs a deployment: its id is the
// deployment's number (ecs-svc/NUMBER).
func newRevision(rec *berthv1.ServiceRecord, c Change, dep *berthv1.Deployment) *berthv1.ServiceRevision {
	svc := rec.Service
	rev := &berthv1.ServiceRevision{
		ServiceRevisionArn: c.ARNs.ServiceRevision(rec.Cluster, svc.ServiceName, strings.TrimPrefix(dep.Id, "ecs-svc/")),
		ServiceArn:         c.ARNs.Service(rec.Cluster, svc.ServiceName), ClusterArn: c.ARNs.Cluster(rec.Cluster),
		TaskDefinition: dep.TaskDefinition, CapacityProviderStrategy: svc.CapacityProviderStrategy, LaunchType: svc.LaunchType,
		PlatformVersion: svc.PlatformVersion, LoadBalancers: svc.LoadBalancers, ServiceRegistries: svc.ServiceRegistries,
		NetworkConfiguration: svc.NetworkConfiguration, ServiceConnectConfiguration: dep.ServiceConnectConfiguration,
		CreatedAt: c.Now,
	}
	if c.Images != nil {
		rev.ContainerImages = c.Images(dep.TaskDefinition)
	}
	return proto.Clone(rev).(*berthv1.ServiceRevision)
}

// revisionFor is the revision of deployment id (a rollback's target), or a
// new one for dep when it is no longer kept.
func revisionFor(rec *berthv1.ServiceRecord, c Change, id string, dep *berthv1.Deployment) string {
	if a := revisionOf(rec, id); a != "" {
		return a
	}
	rev := newRevision(rec, c, dep)
	rec.ServiceRevisions = append(rec.ServiceRevisions, rev)
	return rev.ServiceRevisionArn
}

// revisionOf is the revision ARN a deployment runs: its service
// deployment's target, or, for a rollback's deployment, the rollback's.
func revisionOf(rec *berthv1.ServiceRecord, id string) string {
	for _, sd := range rec.ServiceDeployments {
		for i, d := range sd.DeploymentIds {
			switch {
			case d != id:
			case i == 0:
				return sd.Deployment.GetTargetServiceRevision().GetArn()
			default:
				return sd.Deployment.GetRollback().GetServiceRevisionArn()
			}
		}
	}
	return ""
}

// follow moves an unfinished service deployment with its deployments.
func follow(sd *berthv1.ServiceDeploymentRecord, byID map[string]*berthv1.Deployment, now float64) {
	d := sd.Deployment
	switch d.Status {
	case StatusSuccessful, StatusStopped, StatusRollbackSuccessful, StatusRollbackFailed:
		return
	}
	before := proto.Clone(d).(*berthv1.ServiceDeployment)
	main := byID[sd.DeploymentIds[0]]
	if main != nil {
		d.GetDeploymentCircuitBreaker().FailureCount = proto.Int32(main.GetFailedTasks())
	}
	if len(sd.DeploymentIds) > 1 {
		rb := byID[sd.DeploymentIds[len(sd.DeploymentIds)-1]]
		d.GetDeploymentCircuitBreaker().Status = "TRIGGERED"
		d.StatusReason = reasonBreaker
		switch {
		case rb == nil || rb.Status != "PRIMARY":
			stop(d, reasonSuperseded, now)
		case rb.RolloutState == "COMPLETED":
			d.Status, d.FinishedAt = StatusRollbackSuccessful, now
		case rb.RolloutState == "FAILED":
			d.Status, d.FinishedAt = StatusRollbackFailed, now
		default:
			d.Status = StatusRollbackInProgress
		}
	} else {
		switch {
		case main == nil || main.Status != "PRIMARY":
			stop(d, reasonSuperseded, now)
		case main.RolloutState == "COMPLETED":
			d.Status, d.FinishedAt, d.StatusReason = StatusSuccessful, now, ""
			d.GetDeploymentCircuitBreaker().Status = monitoringDone(d.GetDeploymentCircuitBreaker().Status)
		case main.RolloutState == "FAILED":
			d.GetDeploymentCircuitBreaker().Status = "TRIGGERED"
			stop(d, reasonBreaker, now)
		}
	}
	if main != nil {
		t := d.TargetServiceRevision
		t.RequestedTaskCount = proto.Int32(main.GetDesiredCount())
		t.RunningTaskCount, t.PendingTaskCount = proto.Int32(main.GetRunningCount()), proto.Int32(main.GetPendingCount())
	}
	if !proto.Equal(before, d) {
		d.UpdatedAt = now
	}
}

func stop(d *berthv1.ServiceDeployment, reason string, now float64) {
	d.Status, d.StatusReason, d.StoppedAt = StatusStopped, reason, now
	d.FinishedAt = now
}

func monitoringDone(status string) string {
	if status == "MONITORING" {
		return "MONITORING_COMPLETE"
	}
	return status
}

// trim keeps the newest MaxDeployments service deployments and the
// revisions they name.
func trim(rec *berthv1.ServiceRecord) {
	if len(rec.ServiceDeployments) > MaxDeployments {
		rec.ServiceDeployments = rec.ServiceDeployments[:MaxDeployments]
	}
	named := map[string]bool{}
	for _, sd := range rec.ServiceDeployments {
		named[sd.Deployment.GetTargetServiceRevision().GetArn()] = true
		named[sd.Deployment.GetRollback().GetServiceRevisionArn()] = true
		for _, src := range sd.Deployment.SourceServiceRevisions {
			named[src.Arn] = true
		}
	}
	kept := rec.ServiceRevisions[:0]
	for _, r := range rec.ServiceRevisions {
		if named[r.ServiceRevisionArn] {
			kept = append(kept, r)
		}
	}
	rec.ServiceRevisions = kept
}

// current sets the service's currentServiceDeployment (the newest) and
// currentServiceRevisions (those its deployments run).
func current(rec *berthv1.ServiceRecord, c Change) {
	svc := rec.Service
	svc.CurrentServiceDeployment = ""
	if len(rec.ServiceDeployments) > 0 {
		svc.CurrentServiceDeployment = rec.ServiceDeployments[0].Deployment.ServiceDeploymentArn
	}
	var revs []*berthv1.ServiceCurrentRevisionSummary
	for _, dep := range svc.Deployments {
		if a := revisionOf(rec, dep.Id); a != "" {
			revs = append(revs, &berthv1.ServiceCurrentRevisionSummary{Arn: a, RequestedTaskCount: proto.Int32(dep.GetDesiredCount()),
				RunningTaskCount: proto.Int32(dep.GetRunningCount()), PendingTaskCount: proto.Int32(dep.GetPendingCount())})
		}
	}
	svc.CurrentServiceRevisions = revs
}

// Find returns a service deployment of the record by id.
func Find(rec *berthv1.ServiceRecord, arnOf string) *berthv1.ServiceDeployment {
	for _, sd := range rec.ServiceDeployments {
		if sd.Deployment.ServiceDeploymentArn == arnOf {
			return sd.Deployment
		}
	}
	return nil
}

// FindRevision returns a revision of the record by ARN.
func FindRevision(rec *berthv1.ServiceRecord, arnOf string) *berthv1.ServiceRevision {
	for _, r := range rec.ServiceRevisions {
		if r.ServiceRevisionArn == arnOf {
			return r
		}
	}
	return nil
}

// Brief is a service deployment as ListServiceDeployments lists it.
func Brief(d *berthv1.ServiceDeployment) *berthv1.ServiceDeploymentBrief {
	return &berthv1.ServiceDeploymentBrief{ServiceDeploymentArn: d.ServiceDeploymentArn, ServiceArn: d.ServiceArn, ClusterArn: d.ClusterArn,
		StartedAt: d.StartedAt, CreatedAt: d.CreatedAt, FinishedAt: d.FinishedAt, TargetServiceRevisionArn: d.GetTargetServiceRevision().GetArn(),
		Status: d.Status, StatusReason: d.StatusReason}
}

// IDLength is how many random bytes FormatID reads.
const IDLength = 20

// FormatID makes a service deployment id of IDLength random bytes, in the
// shape of ECS's (8 upper-case letters or digits, a hyphen, 12 letters or
// digits: "NCWGC2ZR-taawPAYrIaU5"). The caller draws the bytes.
func FormatID(random [IDLength]byte) string {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const mixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for i, r := range random {
		if i < 8 {
			b.WriteByte(upper[int(r)%len(upper)])
			continue
		}
		if i == 8 {
			b.WriteByte('-')
		}
		b.WriteByte(mixed[int(r)%len(mixed)])
	}
	return b.String()
}
