package taskendpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

const (
	testTaskARN = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef"
	testCluster = "arn:aws:ecs:us-east-1:000000000000:cluster/default"
)

// testAssignment is a bridge task of two containers, with a role.
func testAssignment(arn, mode string) *berthv1.TaskAssignment {
	return &berthv1.TaskAssignment{
		Task: &berthv1.Task{TaskArn: arn, ClusterArn: testCluster, DesiredStatus: "RUNNING", LaunchType: "EC2",
			AvailabilityZone: "us-east-1a", Group: "service:web",
			Containers: []*berthv1.Container{{Name: "app", ContainerArn: "arn:aws:ecs:us-east-1:000000000000:container/default/0123456789abcdef/1111"}}},
		TaskDefinition: &berthv1.TaskDefinition{Family: "web", Revision: 3, NetworkMode: mode, Cpu: "512", Memory: "1024",
			ContainerDefinitions: []*berthv1.ContainerDefinition{
				{Name: "app", Image: "web:1", Cpu: 256, Memory: proto.Int32(512), DockerLabels: map[string]string{"team": "web"},
					PortMappings: []*berthv1.PortMapping{{ContainerPort: 80, Protocol: "tcp"}},
					HealthCheck:  &berthv1.HealthCheck{Command: []string{"CMD", "true"}},
					LogConfiguration: &berthv1.LogConfiguration{LogDriver: "json-file", Options: map[string]string{"max-size": "1m"},
						SecretOptions: []*berthv1.Secret{{Name: "token", ValueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/t"}}}},
				{Name: "side", Image: "side:1", MemoryReservation: proto.Int32(64)},
			}},
		TaskRoleCredentials: &berthv1.RoleCredentials{RoleArn: "arn:aws:iam::000000000000:role/web", AccessKeyId: "ASIAEXAMPLE",
			SecretAccessKey: "secret", SessionToken: "session", Expiration: float64(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Unix())},
	}
}

func testStateChange(arn string) *berthv1.TaskStateChange {
	return &berthv1.TaskStateChange{TaskArn: arn, LastStatus: "RUNNING", PullStartedAt: 1.7e9, PullStoppedAt: 1.7e9 + 1, ExecutionStoppedAt: 1.7e9 + 9,
		Containers: []*berthv1.ContainerStateChange{
			{Name: "app", RuntimeId: "c0ffee", LastStatus: "RUNNING", HealthStatus: "HEALTHY", ImageDigest: "sha256:abc",
				NetworkBindings: []*berthv1.NetworkBinding{{BindIp: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}},
			{Name: "side", RuntimeId: "beef", LastStatus: "STOPPED", ExitCode: proto.Int32(0)},
		}}
}

func testView() view {
	return view{a: testAssignment(testTaskARN, "bridge"), sc: testStateChange(testTaskARN), az: "us-east-1b",
		started: map[string]runtime.ContainerState{
			"app": {ID: "c0ffee", Name: "ecs-web-3-app-0123", StartedAt: time.Unix(1.7e9+2, 0), IPv4Addresses: []string{"172.17.0.2"},
				Labels: map[string]string{"com.amazonaws.ecs.task-arn": testTaskARN, "team": "web"}},
		}}
}

// Members of the ECS agent's responses that berth does not have: the
// instance's VPC, Fargate's ephemeral storage, and an awsvpc ENI's
// properties (berth gives awsvpc tasks a Docker network, not an ENI).
var leftOut = map[string]bool{
	"VPCID": true, "EphemeralStorageMetrics": true,
	"AttachmentIndex": true, "MACAddress": true, "IPv4SubnetCIDRBlock": true, "PrivateDNSName": true,
	"SubnetGatewayIpv4Address": true, "SubnetGatewayIpv6Address": true,
	"network_rate_stats": true,
}

// Members berth writes that the fixture does not show and AWS's v4 response
// documentation names (each written only when it has a value).
var documented = map[string]bool{
	"ServiceName": true, "StartedAt": true, "FinishedAt": true, "ExitCode": true, "Health": true, "status": true,
	"LogDriver": true, "LogOptions": true, "ReferenceTimestamp": true, "HostIp": true,
}

// freeForm are maps whose keys are data, not members.
var freeForm = map[string]bool{"Labels": true, "LogOptions": true, "networks": true}

// compareShape checks got against want member by member: the same names
// (but for leftOut and documented) with the same JSON kinds, recursively.
func compareShape(t *testing.T, path string, got, want any) {
	t.Helper()
	if kind(got) != kind(want) {
		t.Errorf("%s: berth writes a %s, the ECS agent a %s", path, kind(got), kind(want))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if freeForm[path[strings.LastIndex(path, ".")+1:]] {
			return
		}
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				if !leftOut[k] {
					t.Errorf("%s.%s: the ECS agent writes it, berth does not", path, k)
				}
				continue
			}
			compareShape(t, path+"."+k, g[k], w[k])
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok && !documented[k] {
				t.Errorf("%s.%s: berth writes a member the ECS agent does not", path, k)
			}
		}
	case []any:
		g := got.([]any)
		if len(w) > 0 && len(g) > 0 {
			compareShape(t, path+"[0]", g[0], w[0])
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "?"
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func readFixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetadataShapesMatchTheECSAgent compares berth's v4 container, task and
// stats responses with the ECS agent's own, member by member.
func TestMetadataShapesMatchTheECSAgent(t *testing.T) {
	v := testView()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &ClockDrift{ClockErrorBound: 0.5, ReferenceTimestamp: &now, ClockSynchronizationStatus: ClockSynchronized}
	compareShape(t, "container", asJSON(t, containerResponse(v, "app", 4)), readFixture(t, "ecs-agent-v4-container.json"))
	compareShape(t, "task", asJSON(t, taskResponse(v, 4, clock)), readFixture(t, "ecs-agent-v4-task.json"))
	compareShape(t, "stats", asJSON(t, statsResponse(nil, "app", "c0ffee")), readFixture(t, "ecs-agent-v4-stats.json"))
}

// TestTaskResponseValues checks berth's own values in the task response.
func TestTaskResponseValues(t *testing.T) {
	r := taskResponse(testView(), 4, nil)
	if r.TaskARN != testTaskARN || r.Cluster != testCluster || r.Family != "web" || r.Revision != "3" ||
		r.KnownStatus != "RUNNING" || r.DesiredStatus != "RUNNING" || r.LaunchType != "EC2" ||
		r.AvailabilityZone != "us-east-1a" || r.ServiceName != "web" {
		t.Errorf("task response: %+v", r)
	}
	if *r.Limits.CPU != 0.5 || *r.Limits.Memory != 1024 {
		t.Errorf("task limits: %v %v", *r.Limits.CPU, *r.Limits.Memory)
	}
	if r.PullStartedAt == nil || r.PullStoppedAt == nil || !r.PullStoppedAt.After(*r.PullStartedAt) {
		t.Errorf("pull times: %v %v", r.PullStartedAt, r.PullStoppedAt)
	}
	if len(r.Containers) != 2 {
		t.Fatalf("containers: %d", len(r.Containers))
	}
	app, side := r.Containers[0], r.Containers[1]
	if app.DockerID != "c0ffee" || app.DockerName != "ecs-web-3-app-0123" || app.ImageID != "sha256:abc" ||
		app.Health.Status != "HEALTHY" || app.Networks[0].NetworkMode != "bridge" || app.Networks[0].IPv4Addresses[0] != "172.17.0.2" ||
		app.Ports[0].HostPort != 32768 || *app.Limits.CPU != 256 || *app.Limits.Memory != 512 || app.ContainerARN == "" {
		t.Errorf("app: %+v", app)
	}
	if _, secret := app.LogOptions["token"]; secret {
		t.Error("a secret log option is shown")
	}
	if side.KnownStatus != "STOPPED" || side.ExitCode == nil || *side.ExitCode != 0 || *side.Limits.Memory != 64 {
		t.Errorf("side: %+v", side)
	}
	v3 := taskResponse(testView(), 3, &ClockDrift{})
	if v3.ClockDrift != nil || v3.ServiceName != "" || v3.FaultInjectionEnabled != nil {
		t.Errorf("v3 has v4's members: %+v", v3)
	}
}

// TestAWSVPCNetworks: an awsvpc container shows the pause container's
// address, and its port mappings with hostPort = containerPort.
func TestAWSVPCNetworks(t *testing.T) {
	v := testView()
	v.a = testAssignment(testTaskARN, "awsvpc")
	v.sc.Containers[0].NetworkBindings = nil
	v.started[pauseKey] = runtime.ContainerState{IPv4Addresses: []string{"172.18.0.5"}}
	c := containerResponse(v, "app", 4)
	if c.Networks[0].NetworkMode != "awsvpc" || c.Networks[0].IPv4Addresses[0] != "172.18.0.5" {
		t.Errorf("networks: %+v", c.Networks)
	}
	if len(c.Ports) != 1 || c.Ports[0].HostPort != 80 {
		t.Errorf("ports: %+v", c.Ports)
	}
}
