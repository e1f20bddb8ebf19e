package cli_test

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// A blue/green step driven from the CLI as an external controller would:
// an EXTERNAL service, a task set created and made primary, its tasks
// running, then deleted with force.
func TestTaskSetCommands(t *testing.T) {
	e := newEnv(t, "us-east-1a")
	e.ok(t, "register-task-definition", "--family", "web", "--container-definitions", `[{"name":"web","image":"busybox","memory":64}]`)
	e.ok(t, "create-service", "--service-name", "ext", "--desired-count", "2", "--deployment-controller", "type=EXTERNAL")
	var created berthv1.CreateTaskSetResponse
	e.decode(t, &created, "create-task-set", "--cluster", "default", "--service", "ext", "--task-definition", "web",
		"--scale", "value=50,unit=PERCENT", "--external-id", "deploy-1")
	ts := created.TaskSet
	if ts.GetComputedDesiredCount() != 1 || ts.GetScale().GetValue() != 50 || ts.ExternalId != "deploy-1" {
		t.Fatalf("create-task-set: %v", ts)
	}
	e.ok(t, "update-task-set", "--cluster", "default", "--service", "ext", "--task-set", ts.Id, "--scale", "value=100,unit=PERCENT")
	var primary berthv1.UpdateServicePrimaryTaskSetResponse
	e.decode(t, &primary, "update-service-primary-task-set", "--cluster", "default", "--service", "ext", "--primary-task-set", ts.TaskSetArn)
	if primary.TaskSet.Status != "PRIMARY" {
		t.Fatalf("update-service-primary-task-set: %v", primary.TaskSet)
	}
	cptest.Eventually(t, "the task set's 2 tasks running", func() bool {
		var desc berthv1.DescribeTaskSetsResponse
		e.decode(t, &desc, "describe-task-sets", "--cluster", "default", "--service", "ext")
		return len(desc.TaskSets) == 1 && desc.TaskSets[0].GetRunningCount() == 2 && desc.TaskSets[0].StabilityStatus == "STEADY_STATE"
	})
	e.berth("delete-task-set", "--cluster", "default", "--service", "ext", "--task-set", ts.Id).fails(t, 1, "Primary TaskSet cannot be deleted")
	var deleted berthv1.DeleteTaskSetResponse
	e.decode(t, &deleted, "delete-task-set", "--cluster", "default", "--service", "ext", "--task-set", ts.Id, "--force")
	if deleted.TaskSet.Status != "DRAINING" {
		t.Fatalf("delete-task-set --force: %v", deleted.TaskSet)
	}
	e.ok(t, "create-service", "--service-name", "rolling", "--task-definition", "web", "--desired-count", "0")
	e.berth("create-task-set", "--cluster", "default", "--service", "rolling", "--task-definition", "web").
		fails(t, 1, "Amazon ECS only supports task set management on services configured to use external deployment controllers.")
}
