package servicehistory

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
)

// life drives a service record through its deployments' changes as the API
// and the controller make them, and prints the history after each.
type life struct {
	t   *testing.T
	rec *berthv1.ServiceRecord
	now float64
	ids int
}

func newLife(t *testing.T) *life {
	return &life{t: t, now: 1000, rec: &berthv1.ServiceRecord{Cluster: "prod", Service: &berthv1.Service{ServiceName: "web",
		DesiredCount: proto.Int32(2), DeploymentConfiguration: &berthv1.DeploymentConfiguration{
			DeploymentCircuitBreaker: &berthv1.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}}}
}

func (l *life) update(rollbacks map[string]Rollback) string {
	l.now++
	Update(l.rec, Change{ARNs: arn.Default, Now: l.now, Rollbacks: rollbacks, NewID: func() string {
		l.ids++
		return fmt.Sprintf("SD%d", l.ids)
	}})
	var b strings.Builder
	for _, sd := range l.rec.ServiceDeployments {
		d := sd.Deployment
		fmt.Fprintf(&b, "%s %s target=%s", d.ServiceDeploymentArn[strings.LastIndex(d.ServiceDeploymentArn, "/")+1:], d.Status,
			short(d.TargetServiceRevision.GetArn()))
		if d.Rollback != nil {
			fmt.Fprintf(&b, " rollback-to=%s", short(d.Rollback.ServiceRevisionArn))
		}
		fmt.Fprintf(&b, " breaker=%s\n", d.DeploymentCircuitBreaker.GetStatus())
	}
	fmt.Fprintf(&b, "current=%s revisions=%d", short(l.rec.Service.CurrentServiceDeployment), len(l.rec.ServiceRevisions))
	for _, r := range l.rec.Service.CurrentServiceRevisions {
		fmt.Fprintf(&b, " %s(%d/%d)", short(r.Arn), r.GetRunningTaskCount(), r.GetRequestedTaskCount())
	}
	return b.String()
}

func short(a string) string { return a[strings.LastIndex(a, "/")+1:] }

// deploy makes deployment id the PRIMARY one, as UpdateService does.
func (l *life) deploy(id string) {
	for _, d := range l.rec.Service.Deployments {
		d.Status = "ACTIVE"
	}
	l.rec.Service.Deployments = append([]*berthv1.Deployment{{Id: "ecs-svc/" + id, Status: "PRIMARY", TaskDefinition: "web:" + id,
		RolloutState: "IN_PROGRESS", DesiredCount: proto.Int32(2), CreatedAt: l.now}}, l.rec.Service.Deployments...)
}

func (l *life) dep(id string) *berthv1.Deployment {
	for _, d := range l.rec.Service.Deployments {
		if d.Id == "ecs-svc/"+id {
			return d
		}
	}
	l.t.Fatalf("no deployment %s", id)
	return nil
}

// drop removes the deployments that have no task left, as Decide does.
func (l *life) drop(ids ...string) {
	var kept []*berthv1.Deployment
	for _, d := range l.rec.Service.Deployments {
		if !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+strings.TrimPrefix(d.Id, "ecs-svc/")+" ") {
			kept = append(kept, d)
		}
	}
	l.rec.Service.Deployments = kept
}

func expect(t *testing.T, step, got, want string) {
	t.Helper()
	if got != strings.TrimSpace(want) {
		t.Fatalf("%s:\ngot\n%s\nwant\n%s", step, got, strings.TrimSpace(want))
	}
}

func TestHistory(t *testing.T) {
	l := newLife(t)
	l.deploy("1")
	expect(t, "create", l.update(nil), `
SD1 IN_PROGRESS target=1 breaker=MONITORING
current=SD1 revisions=1 1(0/2)`)
	l.dep("1").RolloutState, l.dep("1").RunningCount = "COMPLETED", proto.Int32(2)
	expect(t, "completed", l.update(nil), `
SD1 SUCCESSFUL target=1 breaker=MONITORING_COMPLETE
current=SD1 revisions=1 1(2/2)`)

	l.deploy("2")
	expect(t, "a new task definition", l.update(nil), `
SD2 IN_PROGRESS target=2 breaker=MONITORING
SD1 SUCCESSFUL target=1 breaker=MONITORING_COMPLETE
current=SD2 revisions=2 2(0/2) 1(2/2)`)
	l.deploy("3")
	expect(t, "replaced before it finished", l.update(nil), `
SD3 IN_PROGRESS target=3 breaker=MONITORING
SD2 STOPPED target=2 breaker=MONITORING
SD1 SUCCESSFUL target=1 breaker=MONITORING_COMPLETE
current=SD3 revisions=3 3(0/2) 2(0/2) 1(2/2)`)

	// The circuit breaker fails 3 and rolls back to 1 (the last COMPLETED).
	l.drop("2")
	l.dep("3").RolloutState, l.dep("3").Status = "FAILED", "ACTIVE"
	l.rec.Service.Deployments = append([]*berthv1.Deployment{{Id: "ecs-svc/4", Status: "PRIMARY", TaskDefinition: "web:1",
		RolloutState: "IN_PROGRESS", DesiredCount: proto.Int32(2)}}, l.rec.Service.Deployments...)
	expect(t, "rollback", l.update(map[string]Rollback{"ecs-svc/4": {Of: "ecs-svc/3", To: "ecs-svc/1"}}), `
SD3 ROLLBACK_IN_PROGRESS target=3 rollback-to=1 breaker=TRIGGERED
SD2 STOPPED target=2 breaker=MONITORING
SD1 SUCCESSFUL target=1 breaker=MONITORING_COMPLETE
current=SD3 revisions=3 1(0/2) 3(0/2) 1(2/2)`)
	l.drop("3", "1")
	l.dep("4").RolloutState, l.dep("4").RunningCount = "COMPLETED", proto.Int32(2)
	expect(t, "rolled back", l.update(nil), `
SD3 ROLLBACK_SUCCESSFUL target=3 rollback-to=1 breaker=TRIGGERED
SD2 STOPPED target=2 breaker=MONITORING
SD1 SUCCESSFUL target=1 breaker=MONITORING_COMPLETE
current=SD3 revisions=3 1(2/2)`)
}

func TestBreakerWithoutRollbackStops(t *testing.T) {
	l := newLife(t)
	l.rec.Service.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback = false
	l.deploy("1")
	l.update(nil)
	l.dep("1").RolloutState, l.dep("1").FailedTasks = "FAILED", proto.Int32(10)
	expect(t, "failed", l.update(nil), `
SD1 STOPPED target=1 breaker=TRIGGERED
current=SD1 revisions=1 1(0/2)`)
	if d := l.rec.ServiceDeployments[0].Deployment; d.StoppedAt == 0 || d.StatusReason == "" || d.DeploymentCircuitBreaker.GetFailureCount() != 10 {
		t.Fatalf("a stopped deployment has its time, reason and failures: %v", d)
	}
}

func TestKeepsTheNewest(t *testing.T) {
	l := newLife(t)
	for i := range MaxDeployments + 5 {
		l.deploy(fmt.Sprint(i + 1))
		l.update(nil)
		l.drop(fmt.Sprint(i)) // the one before has no task left
	}
	if n := len(l.rec.ServiceDeployments); n != MaxDeployments {
		t.Fatalf("%d service deployments kept, want %d", n, MaxDeployments)
	}
	if n := len(l.rec.ServiceRevisions); n != MaxDeployments+1 {
		t.Fatalf("%d revisions kept, want the %d the deployments name (their targets, and the source of the oldest)", n, MaxDeployments+1)
	}
	if got := short(l.rec.ServiceDeployments[0].Deployment.TargetServiceRevision.Arn); got != fmt.Sprint(MaxDeployments+5) {
		t.Fatalf("newest first: got %s", got)
	}
}

func TestFormatID(t *testing.T) {
	var b [IDLength]byte
	for i := range b {
		b[i] = byte(i * 37)
	}
	id := FormatID(b)
	if len(id) != 21 || strings.Count(id, "-") != 1 || id[8] != '-' || strings.ToUpper(id[:8]) != id[:8] {
		t.Fatalf("FormatID = %q, want ECS's shape XXXXXXXX-xxxxxxxxxxxx", id)
	}
}
