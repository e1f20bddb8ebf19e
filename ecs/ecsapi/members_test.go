package ecsapi

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// What berth does with each member of CreateService's, UpdateService's and
// DeleteService's request shapes: honoured, stored and shown (the README
// says what acts on it), or refused naming it. Never dropped.
const (
	honoured = "honoured"
	stored   = "stored"
	refused  = "refused"
)

// memberCase is a member's disposition and a request that sets it: a stored
// member comes back under shown (a JSON key of the service in the
// response), a refused one is refused naming it.
type memberCase struct {
	how   string
	json  string // the member and its value, as a JSON object's members
	shown string
}

var serviceMembers = map[string]map[string]memberCase{
	"CreateService": {
		"cluster":                       {honoured, `"cluster": "default"`, ""},
		"serviceName":                   {honoured, `"serviceName": "web"`, ""},
		"taskDefinition":                {honoured, `"taskDefinition": "web"`, ""},
		"desiredCount":                  {honoured, `"desiredCount": 1`, ""},
		"clientToken":                   {honoured, `"clientToken": "token-1"`, ""},
		"launchType":                    {honoured, `"launchType": "EC2"`, ""},
		"capacityProviderStrategy":      {honoured, `"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}], "taskDefinition": "fargate", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}`, ""},
		"platformVersion":               {stored, `"platformVersion": "1.4.0", "launchType": "FARGATE", "taskDefinition": "fargate", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}`, `"platformVersion":"1.4.0"`},
		"role":                          {stored, `"role": "ecsServiceRole"`, `"roleArn":"arn:aws:iam::000000000000:role/ecsServiceRole"`},
		"deploymentConfiguration":       {honoured, `"deploymentConfiguration": {"maximumPercent": 150, "alarms": {"alarmNames": ["a"], "enable": true, "rollback": false}, "strategy": "ROLLING"}`, `"alarmNames":["a"]`},
		"placementConstraints":          {honoured, `"placementConstraints": [{"type": "distinctInstance"}]`, ""},
		"placementStrategy":             {honoured, `"placementStrategy": [{"type": "binpack", "field": "memory"}]`, ""},
		"networkConfiguration":          {honoured, `"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}, "taskDefinition": "awsvpc"`, ""},
		"healthCheckGracePeriodSeconds": {stored, `"healthCheckGracePeriodSeconds": 30`, `"healthCheckGracePeriodSeconds":30`},
		"schedulingStrategy":            {honoured, `"schedulingStrategy": "REPLICA"`, ""},
		"deploymentController":          {honoured, `"deploymentController": {"type": "ECS"}`, ""},
		"tags":                          {honoured, `"tags": [{"key": "team", "value": "web"}]`, ""},
		"enableECSManagedTags":          {stored, `"enableECSManagedTags": true`, `"enableECSManagedTags":true`},
		"propagateTags":                 {honoured, `"propagateTags": "SERVICE"`, ""},
		"enableExecuteCommand":          {stored, `"enableExecuteCommand": true`, `"enableExecuteCommand":true`},
		"loadBalancers":                 {stored, `"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1", "containerName": "web", "containerPort": 80}]`, `"containerPort":80`},
		"serviceRegistries":             {stored, `"serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1", "port": 80}]`, `"registryArn"`},
		"serviceConnectConfiguration":   {stored, `"serviceConnectConfiguration": {"enabled": true, "namespace": "prod", "services": [{"portName": "http"}]}`, `"namespace":"prod"`},
		"availabilityZoneRebalancing":   {stored, `"availabilityZoneRebalancing": "ENABLED"`, `"availabilityZoneRebalancing":"ENABLED"`},
		"volumeConfigurations":          {refused, `"volumeConfigurations": [{"name": "data", "managedEBSVolume": {"roleArn": "arn:aws:iam::000000000000:role/ebs"}}]`, ""},
		"vpcLatticeConfigurations":      {refused, `"vpcLatticeConfigurations": [{"roleArn": "r", "targetGroupArn": "t", "portName": "http"}]`, ""},
	},
	"UpdateService": {
		"cluster":                       {honoured, `"cluster": "default"`, ""},
		"service":                       {honoured, `"service": "web"`, ""},
		"desiredCount":                  {honoured, `"desiredCount": 2`, ""},
		"taskDefinition":                {honoured, `"taskDefinition": "web"`, ""},
		"capacityProviderStrategy":      {refused, `"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]`, ""}, // on a launch-type service; honoured on one created with a strategy
		"deploymentConfiguration":       {honoured, `"deploymentConfiguration": {"minimumHealthyPercent": 50}`, ""},
		"availabilityZoneRebalancing":   {stored, `"availabilityZoneRebalancing": "DISABLED"`, `"availabilityZoneRebalancing":"DISABLED"`},
		"networkConfiguration":          {honoured, `"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-2"]}}`, ""},
		"placementConstraints":          {honoured, `"placementConstraints": [{"type": "distinctInstance"}]`, ""},
		"placementStrategy":             {honoured, `"placementStrategy": [{"type": "random"}]`, ""},
		"platformVersion":               {stored, `"platformVersion": "1.4.0"`, `"platformVersion":"1.4.0"`},
		"forceNewDeployment":            {honoured, `"forceNewDeployment": true`, ""},
		"healthCheckGracePeriodSeconds": {stored, `"healthCheckGracePeriodSeconds": 60`, `"healthCheckGracePeriodSeconds":60`},
		"deploymentController":          {honoured, `"deploymentController": {"type": "ECS"}`, ""},
		"enableExecuteCommand":          {stored, `"enableExecuteCommand": true`, `"enableExecuteCommand":true`},
		"enableECSManagedTags":          {stored, `"enableECSManagedTags": true`, `"enableECSManagedTags":true`},
		"loadBalancers":                 {stored, `"loadBalancers": [{"loadBalancerName": "classic", "containerName": "web", "containerPort": 80}]`, `"loadBalancerName":"classic"`},
		"propagateTags":                 {honoured, `"propagateTags": "TASK_DEFINITION"`, ""},
		"serviceRegistries":             {stored, `"serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-2", "containerName": "web", "containerPort": 80}]`, `srv-2"`},
		"serviceConnectConfiguration":   {stored, `"serviceConnectConfiguration": {"enabled": true, "namespace": "ns-2", "services": [{"portName": "http"}]}`, `"namespace":"ns-2"`},
		"volumeConfigurations":          {refused, `"volumeConfigurations": [{"name": "data", "managedEBSVolume": {"roleArn": "arn:aws:iam::000000000000:role/ebs"}}]`, ""},
		"vpcLatticeConfigurations":      {refused, `"vpcLatticeConfigurations": [{"roleArn": "r", "targetGroupArn": "t", "portName": "http"}]`, ""},
	},
	"DeleteService": {
		"cluster": {honoured, `"cluster": "default"`, ""},
		"service": {honoured, `"service": "web"`, ""},
		"force":   {honoured, `"force": true`, ""},
	},
}

// Members below the top level that berth refuses, with a request setting
// each.
var refusedNested = []struct{ op, path, json string }{
	{"CreateService", "deploymentConfiguration.strategy", `"deploymentConfiguration": {"strategy": "BLUE_GREEN"}`},
	{"CreateService", "deploymentConfiguration.bakeTimeInMinutes", `"deploymentConfiguration": {"bakeTimeInMinutes": 5}`},
	{"CreateService", "deploymentConfiguration.lifecycleHooks", `"deploymentConfiguration": {"lifecycleHooks": [{"targetType": "PAUSE"}]}`},
	{"CreateService", "deploymentConfiguration.linearConfiguration", `"deploymentConfiguration": {"linearConfiguration": {"stepPercent": 10}}`},
	{"CreateService", "deploymentConfiguration.canaryConfiguration", `"deploymentConfiguration": {"canaryConfiguration": {"canaryPercent": 10}}`},
	{"CreateService", "loadBalancers[0].advancedConfiguration", `"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1", "containerName": "web", "containerPort": 80, "advancedConfiguration": {"alternateTargetGroupArn": "x"}}]`},
	{"UpdateService", "deploymentConfiguration.strategy", `"deploymentConfiguration": {"strategy": "CANARY"}`},
	{"UpdateService", "loadBalancers[0].advancedConfiguration", `"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/1", "containerName": "web", "containerPort": 80, "advancedConfiguration": {"roleArn": "x"}}]`},
	{"UpdateService", "serviceConnectConfiguration.logConfiguration.secretOptions", `"serviceConnectConfiguration": {"enabled": true, "logConfiguration": {"logDriver": "awslogs", "secretOptions": [{"name": "k", "valueFrom": "v"}]}}`},
}

// typedLists are UpdateService's list members kept as JSON (to tell [] from
// none), and the messages each element is decoded into.
var typedLists = map[string]proto.Message{"loadBalancers": &berthv1.LoadBalancer{}, "serviceRegistries": &berthv1.ServiceRegistry{}}

// Every member of the request shapes in botocore's newest ECS model
// (testdata/service-request-shapes.json) is a field of berth's request
// message, at every depth, so none is refused as unknown; and each
// top-level member has a disposition that a request proves.
func TestServiceRequestMembers(t *testing.T) {
	b, err := os.ReadFile("testdata/service-request-shapes.json")
	if err != nil {
		t.Fatal(err)
	}
	var model map[string]json.RawMessage
	if err := json.Unmarshal(b, &model); err != nil {
		t.Fatal(err)
	}
	messages := map[string]proto.Message{"CreateService": &berthv1.CreateServiceRequest{},
		"UpdateService": &berthv1.UpdateServiceRequest{}, "DeleteService": &berthv1.DeleteServiceRequest{}}
	for op, msg := range messages {
		var tree map[string]any
		if err := json.Unmarshal(model[op], &tree); err != nil {
			t.Fatal(err)
		}
		walkShape(t, op, tree, msg.ProtoReflect().Descriptor())
		var names []string
		for name := range tree {
			names = append(names, name)
			if _, ok := serviceMembers[op][name]; !ok {
				t.Errorf("%s.%s: no disposition (honoured, stored or refused)", op, name)
			}
		}
		sort.Strings(names)
		for name := range serviceMembers[op] {
			if _, ok := tree[name]; !ok {
				t.Errorf("%s.%s: not in the model", op, name)
			}
		}
		for _, name := range names {
			if c, ok := serviceMembers[op][name]; ok {
				t.Run(op+"/"+name, func(t *testing.T) { proveMember(t, op, name, c) })
			}
		}
	}
	for _, n := range refusedNested {
		t.Run(n.op+"/"+n.path, func(t *testing.T) {
			_, err := callService(t, n.op, n.json)
			wantErr(t, err, ecserr.InvalidArgument, n.path+": not supported")
		})
	}
}

// walkShape checks that every member of the model's tree is a field of md.
func walkShape(t *testing.T, path string, tree map[string]any, md protoreflect.MessageDescriptor) {
	for name, sub := range tree {
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			t.Errorf("%s.%s: no field in %s: it would be refused as unknown", path, name, md.FullName())
			continue
		}
		subtree, ok := sub.(map[string]any)
		if !ok || fd.Message() == nil {
			continue
		}
		child := fd.Message()
		if strings.HasPrefix(string(child.FullName()), "google.protobuf.") {
			m, typed := typedLists[name]
			if !typed {
				continue // kept as JSON to be refused by name (refusedNested, serviceMembers)
			}
			child = m.ProtoReflect().Descriptor()
		}
		walkShape(t, path+"."+name, subtree, child)
	}
}

// proveMember sends a request that sets the member and checks berth's
// answer against its disposition.
func proveMember(t *testing.T, op, name string, c memberCase) {
	res, err := callService(t, op, c.json)
	if c.how == refused {
		if err == nil || !strings.HasPrefix(ecserr.From(err).Field, name) {
			t.Fatalf("%s: want it refused naming it, got %v", name, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if c.how == stored {
		out, _ := awsjson.Marshal(res)
		if !strings.Contains(strings.ReplaceAll(string(out), " ", ""), c.shown) {
			t.Fatalf("%s: the service does not show it (%s): %s", name, c.shown, out)
		}
	}
}

// callService runs op on a fresh server with the task definitions the
// members need and (for UpdateService and DeleteService) a service "web",
// with the request's members over a base request.
func callService(t *testing.T, op, members string) (proto.Message, error) {
	s := newServer(t)
	web := webTaskDef("web")
	web.ContainerDefinitions[0].PortMappings = []*berthv1.PortMapping{{ContainerPort: 80, Name: "http"}}
	for _, req := range []*berthv1.RegisterTaskDefinitionRequest{web,
		{Family: "awsvpc", NetworkMode: "awsvpc", ContainerDefinitions: web.ContainerDefinitions},
		{Family: "fargate", NetworkMode: "awsvpc", RequiresCompatibilities: []string{"FARGATE"}, Cpu: "256", Memory: "512",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "web", Image: "nginx"}}}} {
		if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if op != "CreateService" {
		if _, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "awsvpc", DesiredCount: proto.Int32(1),
			NetworkConfiguration: &berthv1.NetworkConfiguration{AwsvpcConfiguration: &berthv1.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	base := map[string]string{"CreateService": `{"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}`,
		"UpdateService": `{"service": "web"}`, "DeleteService": `{"service": "web", "force": true}`}[op]
	doc := mergeJSON(t, base, "{"+members+"}")
	switch op {
	case "CreateService":
		req := &berthv1.CreateServiceRequest{}
		if err := awsjson.Unmarshal(doc, req); err != nil {
			return nil, err
		}
		res, err := s.CreateService(ctx, req)
		return res.GetService(), err
	case "UpdateService":
		req := &berthv1.UpdateServiceRequest{}
		if err := awsjson.Unmarshal(doc, req); err != nil {
			return nil, err
		}
		res, err := s.UpdateService(ctx, req)
		return res.GetService(), err
	default:
		req := &berthv1.DeleteServiceRequest{}
		if err := awsjson.Unmarshal(doc, req); err != nil {
			return nil, err
		}
		res, err := s.DeleteService(ctx, req)
		return res.GetService(), err
	}
}

// mergeJSON puts over's members over base's.
func mergeJSON(t *testing.T, base, over string) []byte {
	var a, b map[string]any
	if err := json.Unmarshal([]byte(base), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(over), &b); err != nil {
		t.Fatalf("%s: %v", over, err)
	}
	for k, v := range b {
		a[k] = v
	}
	out, _ := json.Marshal(a)
	return out
}
