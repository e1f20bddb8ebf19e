package servicecontroller_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// taskSetsOf is the service's task sets by ID.
func (e *env) taskSetsOf(t *testing.T, name string) map[string]*berthv1.TaskSet {
	t.Helper()
	out := map[string]*berthv1.TaskSet{}
	for _, ts := range e.service(t, name).TaskSets {
		out[ts.Id] = ts
	}
	return out
}

func (e *env) taskSetSteady(t *testing.T, service, id string, count int32) {
	t.Helper()
	cptest.Eventually(t, "task set "+id+" steady", func() bool {
		ts := e.taskSetsOf(t, service)[id]
		return ts != nil && ts.StabilityStatus == "STEADY_STATE" && ts.GetRunningCount() == count && ts.GetComputedDesiredCount() == count
	})
}

// tasksStartedBy counts the live tasks started by a task set.
func (e *env) tasksStartedBy(t *testing.T, id string) int {
	t.Helper()
	list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{StartedBy: id})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.TaskArns)
}

// A blue/green deployment as an external controller drives it: the task
// sets' tasks are placed by berth's scheduler, scaled as a percent of the
// service's desired count, started by the task set's ID; the primary is
// switched, and the old task set drained and gone.
func TestTaskSetsBlueGreen(t *testing.T) {
	e := newEnv(t)
	blueTD := e.register(t, "web", "sleep")
	greenTD := e.register(t, "web", "sleep")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", DesiredCount: proto.Int32(4),
		DeploymentController: &berthv1.DeploymentController{Type: "EXTERNAL"}}); err != nil {
		t.Fatal(err)
	}
	blue, err := e.ECS.CreateTaskSet(e.Ctx, &berthv1.CreateTaskSetRequest{Service: "web", TaskDefinition: blueTD,
		Scale: &berthv1.Scale{Value: proto.Float64(100), Unit: "PERCENT"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ECS.UpdateServicePrimaryTaskSet(e.Ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "web", PrimaryTaskSet: blue.TaskSet.TaskSetArn}); err != nil {
		t.Fatal(err)
	}
	e.taskSetSteady(t, "web", blue.TaskSet.Id, 4)
	if n := e.tasksStartedBy(t, blue.TaskSet.Id); n != 4 {
		t.Fatalf("%d tasks started by the blue task set, want 4", n)
	}

	green, err := e.ECS.CreateTaskSet(e.Ctx, &berthv1.CreateTaskSetRequest{Service: "web", TaskDefinition: greenTD, ExternalId: "deploy-2",
		Scale: &berthv1.Scale{Value: proto.Float64(25), Unit: "PERCENT"}})
	if err != nil {
		t.Fatal(err)
	}
	e.taskSetSteady(t, "web", green.TaskSet.Id, 1)
	if _, err := e.ECS.UpdateTaskSet(e.Ctx, &berthv1.UpdateTaskSetRequest{Service: "web", TaskSet: green.TaskSet.Id,
		Scale: &berthv1.Scale{Value: proto.Float64(100), Unit: "PERCENT"}}); err != nil {
		t.Fatal(err)
	}
	e.taskSetSteady(t, "web", green.TaskSet.Id, 4)
	cptest.Eventually(t, "the service counts both task sets' tasks", func() bool {
		return e.service(t, "web").GetRunningCount() == 8
	})

	if _, err := e.ECS.UpdateServicePrimaryTaskSet(e.Ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "web", PrimaryTaskSet: green.TaskSet.Id}); err != nil {
		t.Fatal(err)
	}
	if svc := e.service(t, "web"); svc.TaskDefinition != greenTD {
		t.Fatalf("service task definition %s, want the primary's %s", svc.TaskDefinition, greenTD)
	}
	del, err := e.ECS.DeleteTaskSet(e.Ctx, &berthv1.DeleteTaskSetRequest{Service: "web", TaskSet: blue.TaskSet.Id})
	if err != nil {
		t.Fatal(err)
	}
	if del.TaskSet.Status != "DRAINING" {
		t.Fatalf("deleted task set %s, want DRAINING", del.TaskSet.Status)
	}
	cptest.Eventually(t, "the blue task set drained and gone", func() bool {
		sets := e.taskSetsOf(t, "web")
		return sets[blue.TaskSet.Id] == nil && len(sets) == 1 && e.tasksStartedBy(t, blue.TaskSet.Id) == 0
	})
	e.update(t, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(2)})
	e.taskSetSteady(t, "web", green.TaskSet.Id, 2)

	if _, err := e.ECS.DeleteService(e.Ctx, &berthv1.DeleteServiceRequest{Service: "web", Force: true}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "service INACTIVE, its task sets drained", func() bool {
		return e.service(t, "web").Status == "INACTIVE" && e.tasksStartedBy(t, green.TaskSet.Id) == 0
	})
}
