package dashboard_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/dashboard"
)

// TestTaskDetailSecretsAndRoles: the task view lists the task's roles and its
// secrets by name and reference, never their values.
func TestTaskDetailSecretsAndRoles(t *testing.T) {
	e := start(t, 1, m5large)
	conn := e.Dial(t)
	if _, err := berthv1.NewSSMClient(conn).PutParameter(e.Ctx, &berthv1.PutParameterRequest{Name: "/db/password", Value: "value-never-shown", Type: "SecureString"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: "app", TaskRoleArn: "arn:aws:iam::000000000000:role/app", ExecutionRoleArn: "arn:aws:iam::000000000000:role/exec",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "berth/app", Memory: proto.Int32(128),
			Secrets:          []*berthv1.Secret{{Name: "DB_PASSWORD", ValueFrom: "/db/password"}},
			LogConfiguration: &berthv1.LogConfiguration{LogDriver: "json-file", SecretOptions: []*berthv1.Secret{{Name: "token", ValueFrom: "/db/password"}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "app",
		Overrides: &berthv1.TaskOverride{TaskRoleArn: "arn:aws:iam::000000000000:role/override"}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", run, err)
	}
	path := "/dashboard/api/task?task=" + run.Tasks[0].TaskArn
	var d dashboard.TaskDetail
	if code := e.get(t, path, &d); code != http.StatusOK {
		t.Fatalf("task: HTTP %d", code)
	}
	if d.TaskRoleArn != "arn:aws:iam::000000000000:role/override" || d.ExecutionRoleArn != "arn:aws:iam::000000000000:role/exec" {
		t.Errorf("roles %q, %q", d.TaskRoleArn, d.ExecutionRoleArn)
	}
	want := []dashboard.SecretRef{{Container: "app", Name: "DB_PASSWORD", ValueFrom: "/db/password"}, {Container: "app", Name: "token", ValueFrom: "/db/password", LogOption: true}}
	if len(d.Secrets) != 2 || d.Secrets[0] != want[0] || d.Secrets[1] != want[1] {
		t.Errorf("secrets %+v", d.Secrets)
	}
	resp, err := http.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), "value-never-shown") {
		t.Errorf("the task view shows a secret's value: %s", b)
	}
}
