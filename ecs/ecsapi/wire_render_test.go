package ecsapi_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/controlplane"
)

// call sends body to the operation on the JSON wire and returns the
// response document, which must be a success.
func call(t *testing.T, cp *controlplane.ControlPlane, op, body string) map[string]any {
	t.Helper()
	status, doc := signedDoc(t, cp, op, []byte(body), time.Now())
	if status != 200 {
		t.Fatalf("%s %s: HTTP %d: %s", op, body, status, doc)
	}
	var out map[string]any
	if err := json.Unmarshal(doc, &out); err != nil {
		t.Fatalf("%s: %v: %s", op, err, doc)
	}
	return out
}

// at is the value at a path of members and list indexes ("cluster.tags",
// "taskDefinition.containerDefinitions.0.cpu"), and whether it is there.
func at(doc any, path string) (any, bool) {
	v := doc
	for _, seg := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// written checks each path holds the JSON value given ([] or 0, say).
func written(t *testing.T, op string, doc map[string]any, want map[string]string) {
	t.Helper()
	for path, w := range want {
		v, ok := at(doc, path)
		if !ok {
			t.Errorf("%s: %s is left out; ECS writes it as %s", op, path, w)
			continue
		}
		if b, _ := json.Marshal(v); string(b) != w {
			t.Errorf("%s: %s = %s, want %s", op, path, b, w)
		}
	}
}

// TestWireRendersAsECS checks, on the JSON wire against a real control
// plane, that the everyday responses carry the members ECS writes when
// they are empty or zero, and not the ones it leaves out.
func TestWireRendersAsECS(t *testing.T) {
	cp := start(t)

	doc := call(t, cp, "CreateCluster", `{"clusterName": "r"}`)
	written(t, "CreateCluster", doc, map[string]string{
		"cluster.registeredContainerInstancesCount": "0", "cluster.runningTasksCount": "0",
		"cluster.pendingTasksCount": "0", "cluster.activeServicesCount": "0",
		"cluster.statistics": "[]", "cluster.tags": "[]",
	})
	if _, ok := at(doc, "cluster.capacityProviders"); ok {
		t.Errorf("CreateCluster: capacityProviders written for a cluster without any; ECS leaves it out")
	}

	for op, member := range map[string]string{
		"ListServices": "serviceArns", "ListTasks": "taskArns", "ListContainerInstances": "containerInstanceArns",
	} {
		doc := call(t, cp, op, `{"cluster": "r"}`)
		if len(doc) != 1 {
			t.Errorf("%s on an empty cluster = %v, want only %s: []", op, doc, member)
		}
		written(t, op, doc, map[string]string{member: "[]"})
	}
	written(t, "ListTaskDefinitions", call(t, cp, "ListTaskDefinitions", `{}`), map[string]string{"taskDefinitionArns": "[]"})
	written(t, "ListTaskDefinitionFamilies", call(t, cp, "ListTaskDefinitionFamilies", `{}`), map[string]string{"families": "[]"})

	doc = call(t, cp, "RegisterTaskDefinition",
		`{"family": "web", "containerDefinitions": [{"name": "web", "image": "busybox", "memory": 128}]}`)
	written(t, "RegisterTaskDefinition", doc, map[string]string{
		"taskDefinition.volumes": "[]", "taskDefinition.placementConstraints": "[]",
		"taskDefinition.containerDefinitions.0.cpu": "0", "taskDefinition.containerDefinitions.0.portMappings": "[]",
		"taskDefinition.containerDefinitions.0.environment": "[]", "taskDefinition.containerDefinitions.0.mountPoints": "[]",
		"taskDefinition.containerDefinitions.0.volumesFrom": "[]",
	})
	for _, left := range []string{"command", "entryPoint", "links", "dnsServers", "ulimits", "systemControls"} {
		if _, ok := at(doc, "taskDefinition.containerDefinitions.0."+left); ok {
			t.Errorf("RegisterTaskDefinition: container %s written though empty; ECS leaves it out", left)
		}
	}
	written(t, "DescribeTaskDefinition", call(t, cp, "DescribeTaskDefinition", `{"taskDefinition": "web"}`),
		map[string]string{"tags": "[]", "taskDefinition.containerDefinitions.0.cpu": "0"})

	call(t, cp, "CreateService", `{"cluster": "r", "serviceName": "s", "taskDefinition": "web", "desiredCount": 0}`)
	doc = call(t, cp, "DescribeServices", `{"cluster": "r", "services": ["s"]}`)
	written(t, "DescribeServices", doc, map[string]string{
		"failures": "[]", "services.0.runningCount": "0", "services.0.pendingCount": "0",
		"services.0.placementConstraints": "[]", "services.0.placementStrategy": "[]",
		"services.0.deployments.0.failedTasks": "0", "services.0.deployments.0.runningCount": "0",
	})
	if _, ok := at(doc, "services.0.tags"); ok {
		t.Errorf("DescribeServices without include TAGS writes tags; ECS leaves them out")
	}
	written(t, "DescribeServices TAGS", call(t, cp, "DescribeServices", `{"cluster": "r", "services": ["s"], "include": ["TAGS"]}`),
		map[string]string{"services.0.tags": "[]"})
	written(t, "DescribeServices missing", call(t, cp, "DescribeServices", `{"cluster": "r", "services": ["nope"]}`),
		map[string]string{"services": "[]"})
	written(t, "DescribeClusters", call(t, cp, "DescribeClusters", `{"clusters": ["r"]}`),
		map[string]string{"failures": "[]", "clusters.0.runningTasksCount": "0", "clusters.0.tags": "[]"})

	call(t, cp, "CreateCluster", `{"clusterName": "gone",
		"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}], "capacityProviders": ["FARGATE"]}`)
	doc = call(t, cp, "DeleteCluster", `{"cluster": "gone"}`)
	written(t, "DeleteCluster", doc, map[string]string{
		"cluster.registeredContainerInstancesCount": "0", "cluster.activeServicesCount": "0",
		"cluster.defaultCapacityProviderStrategy.0.base": "0",
	})
}
