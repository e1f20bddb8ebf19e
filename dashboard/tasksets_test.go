package dashboard_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
)

// An EXTERNAL service's task sets are drawn as its deployments, with their
// computed count and stability.
func TestTaskSetsAsDeployments(t *testing.T) {
	e := start(t, 1, m5large)
	e.service(t, "web", 256, 256, 0)
	if _, err := e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{ServiceName: "ext", DesiredCount: proto.Int32(2),
		DeploymentController: &berthv1.DeploymentController{Type: "EXTERNAL"}}); err != nil {
		t.Fatal(err)
	}
	ts, err := e.ECS.CreateTaskSet(e.Ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web",
		Scale: &berthv1.Scale{Value: proto.Float64(50), Unit: "PERCENT"}})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the task set drawn as a deployment, its task running", func() bool {
		for _, s := range e.state(t, "default").Services {
			if s.Name == "ext" && len(s.Deployments) == 1 {
				d := s.Deployments[0]
				return d.ID == ts.TaskSet.Id && d.Status == "ACTIVE" && d.Desired == 1 && d.Running == 1 &&
					d.RolloutState == "STEADY_STATE" && d.RolloutWhy == "task set at 50 %"
			}
		}
		return false
	})
}
