package dashboard_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// fingerprint is what the controls could change: services' desired counts,
// strategies and deployments, instances' states, tasks' desired states, the
// instances added.
func (e *env) fingerprint(t testing.TB) string {
	t.Helper()
	st := e.state(t, "default")
	var parts []string
	for _, s := range st.Services {
		parts = append(parts, fmt.Sprintf("svc %s %d %s %d", s.Name, s.Desired, s.Strategy, len(s.Deployments)))
	}
	for _, in := range st.Instances {
		parts = append(parts, "inst "+in.ID+" "+in.Status)
	}
	for _, task := range st.Tasks {
		parts = append(parts, "task "+task.ID+" "+task.DesiredStatus)
	}
	e.mu.Lock()
	parts = append(parts, fmt.Sprint("added ", e.added))
	e.mu.Unlock()
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

func TestControlsRejectBadInput(t *testing.T) {
	e := start(t, 2, m5large)
	e.service(t, "web", 256, 512, 2)
	runningTasks(t, e, 2)
	st := e.state(t, "default")
	instance, task := st.Instances[0].ID, st.Tasks[0].ID
	before := e.fingerprint(t)

	tok := e.token
	wrong := "0" + tok[1:] // the right token but for its first digit
	if tok[0] == '0' {
		wrong = "1" + tok[1:]
	}
	tests := []struct {
		name, path, token, body string
		code                    int
		field                   string
	}{
		{"no token", "services/scale", "", `{"service":"web","desiredCount":5}`, 401, "authorization"},
		{"wrong token", "services/scale", wrong, `{"service":"web","desiredCount":5}`, 401, "authorization"},
		{"wrong token, login", "login", "nope", `{}`, 401, "authorization"},
		{"no token, stop", "tasks/stop", "", `{"task":"` + task + `"}`, 401, "authorization"},
		{"no token, drain", "instances/state", "", `{"instance":"` + instance + `","status":"DRAINING"}`, 401, "authorization"},
		{"no token, strategy", "services/strategy", "", `{"service":"web","strategy":"spread(instanceId)"}`, 401, "authorization"},
		{"no token, add", "instances/add", "", `{"zone":"us-east-1a","instanceType":"m5.large"}`, 401, "authorization"},
		{"unknown service", "services/scale", tok, `{"service":"nope","desiredCount":5}`, 404, "service"},
		{"unknown cluster", "services/scale", tok, `{"cluster":"nope","service":"web","desiredCount":5}`, 404, "cluster"},
		{"negative count", "services/scale", tok, `{"service":"web","desiredCount":-1}`, 400, "desiredCount"},
		{"no count", "services/scale", tok, `{"service":"web"}`, 400, "desiredCount"},
		{"count not a number", "services/scale", tok, `{"service":"web","desiredCount":"5"}`, 400, "desiredCount"},
		{"no service", "services/scale", tok, `{"desiredCount":5}`, 400, "service"},
		{"unknown field", "services/scale", tok, `{"service":"web","desiredCount":5,"force":true}`, 400, "force"},
		{"not JSON", "services/scale", tok, `service=web`, 400, "body"},
		{"two objects", "services/scale", tok, `{"service":"web","desiredCount":5}{}`, 400, "body"},
		{"bad strategy", "services/strategy", tok, `{"service":"web","strategy":"binpack(disk)"}`, 400, "strategy"},
		{"no strategy", "services/strategy", tok, `{"service":"web"}`, 400, "strategy"},
		{"strategy, unknown service", "services/strategy", tok, `{"service":"nope","strategy":"spread(instanceId)"}`, 404, "service"},
		{"stop unknown task", "tasks/stop", tok, `{"task":"0123456789abcdef0123456789abcdef"}`, 404, "task"},
		{"stop no task", "tasks/stop", tok, `{}`, 400, "task"},
		{"stop bad task id", "tasks/stop", tok, `{"task":"arn:aws:ecs:us-east-1:000000000000:task/other/abc"}`, 400, "task"},
		{"drain unknown instance", "instances/state", tok, `{"instance":"0123456789abcdef0123456789abcdef","status":"DRAINING"}`, 404, "instance"},
		{"drain bad status", "instances/state", tok, `{"instance":"` + instance + `","status":"GONE"}`, 400, "status"},
		{"drain no instance", "instances/state", tok, `{"status":"DRAINING"}`, 400, "instance"},
		{"add bad type", "instances/add", tok, `{"zone":"us-east-1a","instanceType":"x9.huge"}`, 400, "instanceType"},
		{"add bad zone", "instances/add", tok, `{"zone":"us east/1","instanceType":"m5.large"}`, 400, "zone"},
		{"add no zone", "instances/add", tok, `{"instanceType":"m5.large"}`, 400, "zone"},
		{"add unknown cluster", "instances/add", tok, `{"cluster":"nope","zone":"us-east-1a","instanceType":"m5.large"}`, 404, "cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.post(t, "/dashboard/api/"+tt.path, tt.token, tt.body)
			msg, _ := body["error"].(string)
			if code != tt.code || body["field"] != tt.field || msg == "" {
				t.Errorf("HTTP %d %v, want %d naming %q", code, body, tt.code, tt.field)
			}
			if tt.token != tok && strings.Contains(msg, tok) {
				t.Error("the error shows the admin token")
			}
		})
	}
	// ECS's text, with berth's own words beside it.
	code, body := e.post(t, "/dashboard/api/services/scale", tok, `{"service":"nope","desiredCount":5}`)
	if code != 404 || body["error"] != "Service not found." || !strings.Contains(fmt.Sprint(body["detail"]), `service "nope" not found`) {
		t.Errorf("unknown service: HTTP %d %v, want ECS's text and berth's detail", code, body)
	}
	if after := e.fingerprint(t); after != before {
		t.Errorf("rejected controls changed the cluster:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestControls(t *testing.T) {
	e := start(t, 2, m5large)
	e.service(t, "web", 256, 512, 1)
	runningTasks(t, e, 1)
	tok := e.token
	describe := func() *berthv1.Service {
		t.Helper()
		d, err := e.ECS.DescribeServices(e.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
		if err != nil || len(d.GetServices()) != 1 {
			t.Fatal(err)
		}
		return d.GetServices()[0]
	}
	ok := func(path, body string, want int) map[string]any {
		t.Helper()
		code, res := e.post(t, "/dashboard/api/"+path, tok, body)
		if code != want {
			t.Fatalf("%s %s: HTTP %d %v", path, body, code, res)
		}
		return res
	}

	ok("login", `{}`, http.StatusOK)

	ok("services/scale", `{"service":"web","desiredCount":3}`, http.StatusOK)
	if d := describe(); d.GetDesiredCount() != 3 {
		t.Errorf("desired %d after scale, want 3", d.GetDesiredCount())
	}
	runningTasks(t, e, 3)

	// A strategy alone does not redeploy (UpdateService does not); with
	// redeploy the service gets a new PRIMARY deployment. (The old one may
	// finish and go before the describe, so the check is the PRIMARY's id.)
	primary := describe().GetDeployments()[0].GetId()
	ok("services/strategy", `{"service":"web","strategy":"binpack(resources)"}`, http.StatusOK)
	if d := describe(); len(d.GetPlacementStrategy()) != 1 || d.GetPlacementStrategy()[0].GetField() != "resources" || d.GetDeployments()[0].GetId() != primary {
		t.Errorf("after switching: strategy %v, deployments %v (primary before: %s)", d.GetPlacementStrategy(), d.GetDeployments(), primary)
	}
	res := ok("services/strategy", `{"service":"web","strategy":"spread(instanceId)","redeploy":true}`, http.StatusOK)
	if res["placementStrategy"] != "spread(instanceId)" {
		t.Errorf("answer %v", res)
	}
	if d := describe(); d.GetPlacementStrategy()[0].GetType() != "spread" || d.GetDeployments()[0].GetId() == primary {
		t.Errorf("after redeploying: strategy %v, deployments %v (primary before: %s)", d.GetPlacementStrategy(), d.GetDeployments(), primary)
	}

	st := e.state(t, "default")
	task := st.Tasks[0].ID
	ok("tasks/stop", `{"task":"`+task+`"}`, http.StatusOK)
	d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{task}})
	if err != nil || d.GetTasks()[0].GetDesiredStatus() != "STOPPED" {
		t.Errorf("stopped task: %v %v", d, err)
	}

	in := st.Instances[0].ID
	ok("instances/state", `{"instance":"`+in+`","status":"DRAINING"}`, http.StatusOK)
	if got := instanceStatus(t, e, in); got != "DRAINING" {
		t.Errorf("instance %s after drain", got)
	}
	ok("instances/state", `{"instance":"`+in+`","status":"ACTIVE"}`, http.StatusOK)
	if got := instanceStatus(t, e, in); got != "ACTIVE" {
		t.Errorf("instance %s after activate", got)
	}

	ok("instances/add", `{"zone":"us-east-1z","instanceType":"r5.large"}`, http.StatusAccepted)
	e.WaitInstances(t, 3)
	found := false
	for _, in := range e.state(t, "default").Instances {
		if in.Zone == "us-east-1z" && in.InstanceType == "r5.large" && in.Memory == 16384 {
			found = true
		}
	}
	if !found {
		t.Error("the added instance is not in the snapshot")
	}
}

func instanceStatus(t testing.TB, e *env, id string) string {
	t.Helper()
	for _, in := range e.state(t, "default").Instances {
		if in.ID == id {
			return in.Status
		}
	}
	return "missing"
}

func TestAddInstanceDisabled(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{DashboardPublic: true})
	e := &env{Cluster: c, base: "http://" + c.CP.HTTPAddr(), token: c.CP.AdminToken()}
	if st := e.state(t, "default"); st.Controls.AddInstance || st.Controls.AddInstanceNote == "" {
		t.Errorf("controls %+v: want add-instance off, with a note", st.Controls)
	}
	code, body := e.post(t, "/dashboard/api/instances/add", e.token, `{"zone":"us-east-1a","instanceType":"m5.large"}`)
	if code != http.StatusNotImplemented || !strings.Contains(body["error"].(string), "-dev") {
		t.Errorf("HTTP %d %v", code, body)
	}
}
