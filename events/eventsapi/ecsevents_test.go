package eventsapi_test

import (
	"encoding/json"
	"os"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/events/eventsapi"
)

func detailOf(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Detail
}

// keysIn checks that every member of got is a member of ECS's documented
// example (want), of the same JSON type, and that want's required members
// are there.
func keysIn(t *testing.T, what string, got, want map[string]any, required ...string) {
	t.Helper()
	var names []string
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: member %q is not in ECS's example", what, k)
			continue
		}
		if gt, wt := typeOf(got[k]), typeOf(w); gt != wt {
			t.Errorf("%s: member %q is a %s, ECS's is a %s", what, k, gt, wt)
		}
	}
	for _, k := range required {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: no member %q", what, k)
		}
	}
}

func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// berth's "ECS Task State Change" and "ECS Container Instance State
// Change" details have the members of ECS's documented examples
// (testdata), of the same types, times as ISO 8601 text.
func TestECSEventShapes(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	task := &berthv1.Task{
		TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/abc", ClusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/default",
		TaskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1", ContainerInstanceArn: "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i1",
		LastStatus: "RUNNING", DesiredStatus: "RUNNING", Cpu: "256", Memory: "512", Group: "family:web", StartedBy: "events-rule/r", LaunchType: "EC2",
		AvailabilityZone: "us-east-1a", Connectivity: "CONNECTED", ConnectivityAt: 1.7e9, CreatedAt: 1.7e9, StartedAt: 1.7e9 + 2, PullStartedAt: 1.7e9 + 1, PullStoppedAt: 1.7e9 + 1.5,
		Version: 2, HealthStatus: "UNKNOWN", EnableExecuteCommand: proto.Bool(false), Tags: []*berthv1.Tag{{Key: "k", Value: "v"}},
		Containers: []*berthv1.Container{{ContainerArn: "arn:aws:ecs:us-east-1:000000000000:container/default/abc/c1", TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/abc",
			Name: "web", Image: "nginx", LastStatus: "RUNNING", RuntimeId: "r", HealthStatus: "UNKNOWN", Cpu: "0", Memory: "512", ExitCode: proto.Int32(0)}},
		Overrides: &berthv1.TaskOverride{ContainerOverrides: []*berthv1.ContainerOverride{{Name: "web"}}},
	}
	var got map[string]any
	if err := json.Unmarshal(eventsapi.TaskDetail(task, now), &got); err != nil {
		t.Fatal(err)
	}
	want := detailOf(t, "testdata/ecs-task-state-change.json")
	keysIn(t, "task", got, want, "clusterArn", "taskArn", "taskDefinitionArn", "lastStatus", "desiredStatus", "containers", "createdAt", "updatedAt", "version", "overrides")
	keysIn(t, "task's container", got["containers"].([]any)[0].(map[string]any), want["containers"].([]any)[0].(map[string]any), "containerArn", "lastStatus", "name", "taskArn")
	if got["createdAt"] != "2023-11-14T22:13:20.000Z" || got["updatedAt"] != "2026-12-07T12:00:00.000Z" {
		t.Errorf("times %v %v", got["createdAt"], got["updatedAt"])
	}

	in := &berthv1.ContainerInstance{ContainerInstanceArn: "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i1", Ec2InstanceId: "i-1",
		Version: 3, Status: "ACTIVE", AgentConnected: true, RegisteredAt: 1.7e9, RunningTasksCount: proto.Int32(1),
		RegisteredResources: []*berthv1.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(2048)}},
		RemainingResources:  []*berthv1.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(1024)}},
		Attributes:          []*berthv1.Attribute{{Name: "ecs.os-type", Value: "linux"}},
		VersionInfo:         &berthv1.VersionInfo{AgentVersion: "berth"}}
	got = nil
	if err := json.Unmarshal(eventsapi.InstanceDetail("arn:aws:ecs:us-east-1:000000000000:cluster/default", in, now), &got); err != nil {
		t.Fatal(err)
	}
	keysIn(t, "container instance", got, detailOf(t, "testdata/ecs-container-instance-state-change.json"),
		"clusterArn", "containerInstanceArn", "status", "agentConnected", "version", "updatedAt", "registeredResources", "remainingResources")
}
