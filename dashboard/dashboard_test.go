package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/internal/cptest"
)

var m5large = dashboard.InstanceType{Name: "m5.large", CPU: 2048, Memory: 8192}

func runningTasks(t testing.TB, e *env, n int) {
	t.Helper()
	cptest.Eventually(t, fmt.Sprintf("%d RUNNING tasks", n), func() bool {
		l, err := e.ECS.ListTasks(e.Ctx, &berthv1.ListTasksRequest{DesiredStatus: "RUNNING"})
		if err != nil || len(l.GetTaskArns()) != n {
			return false
		}
		d, err := e.ECS.DescribeTasks(e.Ctx, &berthv1.DescribeTasksRequest{Tasks: l.GetTaskArns()})
		if err != nil {
			return false
		}
		for _, task := range d.GetTasks() {
			if task.GetLastStatus() != "RUNNING" {
				return false
			}
		}
		return true
	})
}

func TestPageAndAssets(t *testing.T) {
	e := start(t, 0, m5large)
	for path, want := range map[string]string{
		"/":                            "text/html",
		"/dashboard/static/app.js":     "javascript",
		"/dashboard/static/app.css":    "text/css",
		"/dashboard/static/index.html": "text/html",
	} {
		res, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), want) || len(b) == 0 {
			t.Errorf("GET %s: HTTP %d %q, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(b))
		}
		if strings.Contains(string(b), "https://") || strings.Contains(string(b), "http://") {
			t.Errorf("GET %s: refers to another site (the page must work offline)", path)
		}
	}
	// POST / is still the ECS JSON API (it wants SigV4, so: an ECS error).
	res, err := http.Post(e.base+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode < 400 || !strings.Contains(string(b), "__type") {
		t.Errorf("POST /: HTTP %d %s, want an ECS error", res.StatusCode, b)
	}
}

func TestState(t *testing.T) {
	e := start(t, 3, m5large)
	e.service(t, "web", 256, 512, 4, &berthv1.PlacementStrategy{Type: "binpack", Field: "memory"})
	e.service(t, "huge", 256, 100000, 1) // fits no instance
	runningTasks(t, e, 4)
	cptest.Eventually(t, "huge's placement failure, web's 4 running", func() bool {
		ok := 0
		for _, s := range e.state(t, "default").Services {
			if s.Name == "huge" && s.Failure != nil || s.Name == "web" && s.Running == 4 {
				ok++
			}
		}
		return ok == 2
	})
	st := e.state(t, "")
	if st.Cluster != "default" || len(st.Clusters) == 0 || st.Revision == 0 {
		t.Errorf("cluster %q, clusters %v, revision %d", st.Cluster, st.Clusters, st.Revision)
	}
	if len(st.Instances) != 3 {
		t.Fatalf("%d instances, want 3", len(st.Instances))
	}
	zones := map[string]bool{}
	var used int32
	for _, in := range st.Instances {
		zones[in.Zone] = true
		if in.InstanceType != "m5.large" || in.CPU != 2048 || in.Memory != 8192 || in.Lane != "ec2" || !in.AgentConnected || in.Status != "ACTIVE" {
			t.Errorf("instance %+v", in)
		}
		used += in.MemoryUsed
	}
	if len(zones) != 3 || used != 4*512 {
		t.Errorf("zones %v, memory used %d, want 3 zones and %d", zones, used, 4*512)
	}
	if len(st.Tasks) != 4 {
		t.Fatalf("%d tasks, want 4", len(st.Tasks))
	}
	for _, task := range st.Tasks {
		if task.Service != "web" || task.Group != "service:web" || task.CPU != 256 || task.Memory != 512 || task.Instance == "" || task.TaskDef != "web:1" {
			t.Errorf("task %+v", task)
		}
	}
	var web, huge *dashboard.Service
	for i := range st.Services {
		switch st.Services[i].Name {
		case "web":
			web = &st.Services[i]
		case "huge":
			huge = &st.Services[i]
		}
	}
	if web == nil || huge == nil {
		t.Fatalf("services %+v", st.Services)
	}
	if web.Desired != 4 || web.Running != 4 || web.Strategy != "binpack(memory)" || len(web.Deployments) != 1 || web.Deployments[0].RolloutState == "" || len(web.Events) == 0 {
		t.Errorf("web %+v", web)
	}
	f := huge.Failure
	if f == nil || f.Reason != "RESOURCE:MEMORY" || len(f.Filtered) == 0 || f.Closest == nil || f.Closest.Memory <= 0 || f.Closest.Instance == "" {
		t.Errorf("huge's failure %+v", f)
	}
	if !st.Controls.AddInstance || len(st.Controls.Strategies) < 3 || len(st.Controls.InstanceTypes) == 0 {
		t.Errorf("controls %+v", st.Controls)
	}

	// A cluster that does not exist is a 404 naming the field.
	var bad map[string]string
	if code := e.get(t, "/dashboard/api/state?cluster=nope", &bad); code != http.StatusNotFound || bad["field"] != "cluster" {
		t.Errorf("unknown cluster: HTTP %d %v", code, bad)
	}
}

func TestTaskDetail(t *testing.T) {
	e := start(t, 2, m5large)
	e.service(t, "web", 256, 512, 1, &berthv1.PlacementStrategy{Type: "spread", Field: "instanceId"})
	runningTasks(t, e, 1)
	st := e.state(t, "default")
	var d dashboard.TaskDetail
	cptest.Eventually(t, "the task's host port", func() bool {
		if code := e.get(t, "/dashboard/api/task?task="+st.Tasks[0].ID, &d); code != http.StatusOK {
			t.Fatalf("task: HTTP %d", code)
		}
		return len(d.Containers) == 1 && len(d.Containers[0].Ports) == 1
	})
	c := d.Containers[0]
	if c.Name != "app" || c.LastStatus != "RUNNING" || c.Ports[0].ContainerPort != 80 || c.Ports[0].HostPort == 0 {
		t.Errorf("container %+v", c)
	}
	ex := d.Explanation
	if ex == nil || ex.Candidates != 2 || len(ex.Steps) != 1 || ex.Steps[0].Strategy != "spread(instanceId)" {
		t.Fatalf("explanation %+v (note %q)", ex, d.Note)
	}
	var bad map[string]string
	if code := e.get(t, "/dashboard/api/task?task=0123456789abcdef0123456789abcdef", &bad); code != http.StatusNotFound || bad["field"] != "task" {
		t.Errorf("unknown task: HTTP %d %v", code, bad)
	}
	if code := e.get(t, "/dashboard/api/task", &bad); code != http.StatusBadRequest || bad["field"] != "task" {
		t.Errorf("no task: HTTP %d %v", code, bad)
	}
}

// model applies a stream's events as the page does.
type model struct {
	tasks    map[string]dashboard.Task
	services map[string]dashboard.Service
	deltas   int
}

func (m *model) apply(t testing.TB, ev sseEvent) {
	t.Helper()
	switch ev.name {
	case "snapshot":
		var st dashboard.State
		if err := json.Unmarshal(ev.data, &st); err != nil {
			t.Fatal(err)
		}
		m.tasks, m.services = map[string]dashboard.Task{}, map[string]dashboard.Service{}
		for _, task := range st.Tasks {
			m.tasks[task.ID] = task
		}
		for _, s := range st.Services {
			m.services[s.Name] = s
		}
	case "delta":
		var d dashboard.Delta
		if err := json.Unmarshal(ev.data, &d); err != nil {
			t.Fatal(err)
		}
		m.deltas++
		for _, task := range d.Tasks {
			m.tasks[task.ID] = task
		}
		for _, id := range d.Removed.Tasks {
			delete(m.tasks, id)
		}
		for _, s := range d.Services {
			m.services[s.Name] = s
		}
	default:
		t.Fatalf("unknown event %q", ev.name)
	}
}

func (m *model) running() int {
	n := 0
	for _, task := range m.tasks {
		if task.LastStatus == "RUNNING" {
			n++
		}
	}
	return n
}

func TestEvents(t *testing.T) {
	e := start(t, 3, m5large)
	e.service(t, "web", 128, 256, 2)
	runningTasks(t, e, 2)

	s := e.stream(t, "default")
	first, _ := s.next(t, 5*time.Second)
	if first.name != "snapshot" {
		t.Fatalf("first event %q, want snapshot", first.name)
	}
	m := &model{}
	m.apply(t, first)
	if len(m.tasks) != 2 {
		t.Fatalf("snapshot: %d tasks, want 2", len(m.tasks))
	}

	// A burst: 30 tasks placed and started. The stream follows it in
	// coalesced deltas, each with the objects' latest state.
	if _, err := e.ECS.UpdateService(e.Ctx, &berthv1.UpdateServiceRequest{Service: "web", DesiredCount: proto.Int32(32)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for m.running() != 32 || m.services["web"].Running != 32 {
		ev, ok := s.next(t, time.Until(deadline))
		if !ok {
			t.Fatal("stream ended")
		}
		m.apply(t, ev)
	}
	t.Logf(`{"tasks_started": 30, "delta_events": %d}`, m.deltas)

	// Stopped tasks leave the model.
	for id := range m.tasks {
		if _, err := e.ECS.StopTask(e.Ctx, &berthv1.StopTaskRequest{Task: id}); err != nil {
			t.Fatal(err)
		}
		for {
			ev, ok := s.next(t, 20*time.Second)
			if !ok {
				t.Fatal("stream ended")
			}
			m.apply(t, ev)
			if _, there := m.tasks[id]; !there {
				break
			}
		}
		break
	}

	// Another cluster's stream sees none of this one's changes.
	if _, err := e.ECS.CreateCluster(e.Ctx, &berthv1.CreateClusterRequest{ClusterName: "other"}); err != nil {
		t.Fatal(err)
	}
	o := e.stream(t, "other")
	if ev, _ := o.next(t, 5*time.Second); ev.name != "snapshot" || !strings.Contains(string(ev.data), `"tasks":[]`) {
		t.Fatalf("other's snapshot: %s %s", ev.name, ev.data)
	}
}

// TestShutdownEndsStreams: a control plane with open event streams shuts
// down promptly, and the streams end.
func TestShutdownEndsStreams(t *testing.T) {
	cp, err := controlplane.Start(context.Background(), controlplane.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", DashboardPublic: true})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + cp.HTTPAddr()
	streams := []*sse{openStream(t, base, "default"), openStream(t, base, "default")}
	for _, s := range streams {
		if ev, _ := s.next(t, 5*time.Second); ev.name != "snapshot" {
			t.Fatalf("first event %q", ev.name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := cp.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with open streams: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("shutdown took %v with open streams", took)
	}
	for _, s := range streams {
		for {
			if _, ok := s.next(t, 5*time.Second); !ok {
				break
			}
		}
	}
}

// TestClientGoneEndsStream: a client that hangs up ends its stream's
// goroutine (goleak checks the rest at the end).
func TestClientGoneEndsStream(t *testing.T) {
	e := start(t, 0, m5large)
	s := e.stream(t, "default")
	s.next(t, 5*time.Second)
	s.close()
	// The control plane's shutdown in the cleanup must not wait on it.
}

// TestFargateLane: the Fargate pool's hosts (attribute berth.pool =
// fargate) are in a lane of their own.
func TestFargateLane(t *testing.T) {
	e := start(t, 1, m5large)
	e.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "berth.pool", CPU: 4096, Memory: 8192,
		Attributes: map[string]string{"berth.pool": "fargate"}})
	var lanes map[string]int
	cptest.Eventually(t, "an ec2 and a fargate instance", func() bool {
		lanes = map[string]int{}
		for _, in := range e.state(t, "default").Instances {
			lanes[in.Lane]++
		}
		return lanes["ec2"] == 1 && lanes["fargate"] == 1
	})
}
