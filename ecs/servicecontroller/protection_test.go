package servicecontroller_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// taskArns lists a service's tasks that are to run.
func (e *env) taskArns(t *testing.T, service string) []string {
	t.Helper()
	list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{ServiceName: service})
	if err != nil {
		t.Fatal(err)
	}
	return list.TaskArns
}

func (e *env) protect(t *testing.T, enabled bool, tasks ...string) *berthv1.UpdateTaskProtectionResponse {
	t.Helper()
	res, err := e.ECS.UpdateTaskProtection(e.Ctx, &berthv1.UpdateTaskProtectionRequest{Cluster: "default", Tasks: tasks, ProtectionEnabled: proto.Bool(enabled)})
	if err != nil || len(res.Failures) > 0 {
		t.Fatalf("UpdateTaskProtection: %v, %v", res, err)
	}
	return res
}

func running(e *env, t *testing.T, arns []string) bool {
	d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: arns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range d.Tasks {
		if task.DesiredStatus != "RUNNING" {
			return false
		}
	}
	return len(d.Tasks) == len(arns)
}

// Protected tasks survive a scale-in, which goes on once their protection
// is cleared.
func TestProtectedTasksSurviveScaleIn(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	e.steady(t, "web", 4)
	protected := e.taskArns(t, "web")[:2]
	res := e.protect(t, true, protected...)
	if len(res.ProtectedTasks) != 2 || !res.ProtectedTasks[0].ProtectionEnabled || res.ProtectedTasks[0].ExpirationDate == 0 {
		t.Fatalf("protected: %v", res.ProtectedTasks)
	}
	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(0)})
	cptest.Eventually(t, "the unprotected tasks stopped, the protected ones kept, and why said", func() bool {
		svc := e.service(t, "web")
		return svc.GetRunningCount() == 2 && svc.GetPendingCount() == 0 && len(e.taskArns(t, "web")) == 2 &&
			e.hasEvent(svc, "was unable to scale in due to (reason: 2 tasks under protection)")
	})
	cptest.Consistently(t, "the protected tasks keep running", 500*time.Millisecond, func() bool { return running(e, t, protected) })

	e.protect(t, false, protected...)
	e.steady(t, "web", 0)
}

// A deployment waits for protected tasks of the old revision; the service
// deployment stays IN_PROGRESS until they go.
func TestDeploymentWaitsForProtectedTasks(t *testing.T) {
	e := newEnv(t)
	e.register(t, "web", "sleep")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	e.steady(t, "web", 2)
	old := e.taskArns(t, "web")
	e.protect(t, true, old[0])
	v2 := e.register(t, "web", "sleep", "1h")
	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", TaskDefinition: v2})
	cptest.Eventually(t, "the new revision runs beside the protected old task", func() bool {
		svc := e.service(t, "web")
		return len(svc.Deployments) == 2 && svc.Deployments[0].GetRunningCount() == 2 && svc.Deployments[1].GetRunningCount() == 1
	})
	cptest.Consistently(t, "the protected task keeps running", 500*time.Millisecond, func() bool { return running(e, t, old[:1]) })
	list, err := e.ECS.ListServiceDeployments(e.Ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web", Status: []string{"IN_PROGRESS"}})
	if err != nil || len(list.ServiceDeployments) != 1 {
		t.Fatalf("one deployment IN_PROGRESS while the protected task runs: %v %v", list, err)
	}

	e.protect(t, false, old[0])
	cptest.Eventually(t, "the deployment SUCCESSFUL once the protection is gone", func() bool {
		list, err := e.ECS.ListServiceDeployments(e.Ctx, &berthv1.ListServiceDeploymentsRequest{Service: "web"})
		return err == nil && len(list.ServiceDeployments) == 2 && list.ServiceDeployments[0].Status == "SUCCESSFUL" &&
			list.ServiceDeployments[1].Status == "SUCCESSFUL"
	})
	svc := e.steady(t, "web", 2)
	revs, err := e.ECS.DescribeServiceRevisions(e.Ctx, &berthv1.DescribeServiceRevisionsRequest{ServiceRevisionArns: []string{svc.CurrentServiceRevisions[0].Arn}})
	if err != nil || len(revs.ServiceRevisions) != 1 || revs.ServiceRevisions[0].TaskDefinition != v2 {
		t.Fatalf("the current revision runs %s: %v %v", v2, revs, err)
	}
}
