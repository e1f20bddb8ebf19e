package fargate_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// Task sets of an EXTERNAL service run on Fargate with each task set's own
// launch type or capacity provider strategy: one at 100 % on FARGATE, one at
// 50 % on FARGATE_SPOT.
func TestFargateTaskSets(t *testing.T) {
	e := newPoolEnv(t, time.Minute)
	e.registerFargate(t, "web", "256", "512")
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", DesiredCount: proto.Int32(4),
		DeploymentController: &berthv1.DeploymentController{Type: "EXTERNAL"}}); err != nil {
		t.Fatal(err)
	}
	onDemand, err := e.ECS.CreateTaskSet(e.Ctx, &berthv1.CreateTaskSetRequest{Service: "web", TaskDefinition: "web", LaunchType: "FARGATE"})
	if err != nil {
		t.Fatal(err)
	}
	spot, err := e.ECS.CreateTaskSet(e.Ctx, &berthv1.CreateTaskSetRequest{Service: "web", TaskDefinition: "web",
		CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE_SPOT", Weight: 1}},
		Scale:                    &berthv1.Scale{Value: proto.Float64(50), Unit: "PERCENT"}})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "6 Fargate tasks RUNNING", func() bool {
		return e.service(t, "web").GetRunningCount() == 6
	})
	for _, c := range []struct {
		ts       *berthv1.TaskSet
		n        int
		provider string
	}{{onDemand.TaskSet, 4, ""}, {spot.TaskSet, 2, "FARGATE_SPOT"}} {
		list, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{StartedBy: c.ts.Id})
		if err != nil || len(list.TaskArns) != c.n {
			t.Fatalf("tasks of task set %s: %v, %v; want %d", c.ts.Id, list, err, c.n)
		}
		desc, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: list.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range desc.Tasks {
			if task.LaunchType != "FARGATE" || task.ContainerInstanceArn != "" || task.StartedBy != c.ts.Id || task.Group != "service:web" ||
				c.provider != "" && task.CapacityProviderName != c.provider {
				t.Fatalf("task of task set %s: launchType %q instance %q startedBy %q group %q provider %q", c.ts.Id,
					task.LaunchType, task.ContainerInstanceArn, task.StartedBy, task.Group, task.CapacityProviderName)
			}
		}
	}
}
