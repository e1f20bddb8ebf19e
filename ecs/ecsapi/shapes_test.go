package ecsapi_test

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// requestModel is the part of ECS's API model (botocore 1.43.11's
// ecs/2014-11-13 service-2.json, the newest at the time) that describes the
// requests of the operations checked: each operation's input shape, and
// every shape reachable from one (its type; a structure's members, a list's
// member, a map's value), as testdata/request-shapes.json keeps it. The
// operations are those berth serves, less CreateService, UpdateService,
// DeleteService and the task set operations, which are checked with their
// own work.
type requestModel struct {
	Operations map[string]string `json:"operations"`
	Shapes     map[string]struct {
		Type    string            `json:"type"`
		Members map[string]string `json:"members"`
		Member  string            `json:"member"`
		Value   string            `json:"value"`
	} `json:"shapes"`
}

func loadRequestModel(t *testing.T) *requestModel {
	t.Helper()
	b, err := os.ReadFile("testdata/request-shapes.json")
	if err != nil {
		t.Fatal(err)
	}
	m := &requestModel{}
	if err := json.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// walkRequest calls visit for every member path of the operation's request
// in the model, with the proto field of the same JSON name (nil when the
// message has none).
func (m *requestModel) walkRequest(t *testing.T, op string, visit func(path string, fd protoreflect.FieldDescriptor)) {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("berth.v1." + op + "Request"))
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var walk func(path, shape string, md protoreflect.MessageDescriptor)
	walk = func(path, shape string, md protoreflect.MessageDescriptor) {
		s := m.Shapes[shape]
		switch s.Type {
		case "list":
			walk(path+"[]", s.Member, md)
		case "map":
			walk(path+"{}", s.Value, md)
		case "structure":
			names := make([]string, 0, len(s.Members))
			for name := range s.Members {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				p := name
				if path != "" {
					p = path + "." + name
				}
				var fd protoreflect.FieldDescriptor
				if md != nil {
					fd = md.Fields().ByJSONName(name)
				}
				visit(p, fd)
				var sub protoreflect.MessageDescriptor
				switch {
				case fd == nil:
				case fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Struct":
					continue // taken as any JSON object, and refused as a whole
				case fd.IsMap():
					sub = fd.MapValue().Message()
				default:
					sub = fd.Message()
				}
				walk(p, s.Members[name], sub)
			}
		}
	}
	walk("", m.Operations[op], mt.Descriptor())
}

// notActedOn are the members of ECS's requests that berth takes and, where
// ECS returns them, stores and returns, but does not act on yet; the README
// names each (its last part, in backticks). Every other member is honoured,
// or refused (refusedMembers).
var notActedOn = []string{
	"RegisterTaskDefinition.enableFaultInjection",
	"RegisterTaskDefinition.runtimePlatform",
	"RegisterTaskDefinition.proxyConfiguration",
	"RegisterTaskDefinition.inferenceAccelerators",
	"RegisterTaskDefinition.executionRoleArn",
	"RegisterTaskDefinition.containerDefinitions[].portMappings[].appProtocol",
	"RegisterTaskDefinition.containerDefinitions[].portMappings[].name",
	"RegisterTaskDefinition.containerDefinitions[].versionConsistency",
	"RegisterTaskDefinition.containerDefinitions[].restartPolicy",
	"RegisterTaskDefinition.volumes[].configuredAtLaunch",
	"RegisterTaskDefinition.volumes[].efsVolumeConfiguration",
	"RegisterTaskDefinition.ephemeralStorage",
	"RunTask.overrides.ephemeralStorage",
	"RunTask.overrides.executionRoleArn",
	"StartTask.overrides.ephemeralStorage",
	"StartTask.overrides.executionRoleArn",
	"RunTask.clientToken",
	"RunTask.referenceId",
	"RunTask.enableECSManagedTags",
	"RunTask.networkConfiguration",
	"RunTask.platformVersion",
	"StartTask.referenceId",
	"StartTask.enableECSManagedTags",
	"StartTask.networkConfiguration",
}

// refusedMembers are the members of ECS's requests that berth refuses,
// naming the member as not supported, each with a request that gives it.
var refusedMembers = map[string]string{
	"RegisterTaskDefinition.containerDefinitions[].restartPolicy.enabled":      `{"family":"f","containerDefinitions":[{"name":"a","image":"x","memory":64,"restartPolicy":{"enabled":true}}]}`,
	"RegisterTaskDefinition.volumes[].fsxWindowsFileServerVolumeConfiguration": `{"family":"f","volumes":[{"name":"v","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-1","rootDirectory":"d"}}],"containerDefinitions":[{"name":"a","image":"x","memory":64}]}`,
	"RegisterTaskDefinition.volumes[].s3filesVolumeConfiguration":              `{"family":"f","volumes":[{"name":"v","s3filesVolumeConfiguration":{"fileSystemArn":"arn:x"}}],"containerDefinitions":[{"name":"a","image":"x","memory":64}]}`,
	"RegisterTaskDefinition.volumes[].dockerVolumeConfiguration":               `{"family":"f","volumes":[{"name":"v","dockerVolumeConfiguration":{"scope":"task"}}],"containerDefinitions":[{"name":"a","image":"x","memory":64}]}`,
	"RegisterTaskDefinition.containerDefinitions[].credentialSpecs":            `{"family":"f","containerDefinitions":[{"name":"a","image":"x","memory":64,"credentialSpecs":["credentialspec:x"]}]}`,
	"RunTask.volumeConfigurations":                                             `{"taskDefinition":"web","volumeConfigurations":[{"name":"v","managedEBSVolume":{"roleArn":"arn:x"}}]}`,
	"RunTask.overrides.inferenceAcceleratorOverrides":                          `{"taskDefinition":"web","overrides":{"inferenceAcceleratorOverrides":[{"deviceName":"d","deviceType":"eia2.medium"}]}}`,
	"RunTask.overrides.containerOverrides[].resourceRequirements":              `{"taskDefinition":"web","overrides":{"containerOverrides":[{"name":"web","resourceRequirements":[{"type":"GPU","value":"1"}]}]}}`,
	"StartTask.volumeConfigurations":                                           `{"taskDefinition":"web","containerInstances":["i"],"volumeConfigurations":[{"name":"v"}]}`,
	"StartTask.overrides.inferenceAcceleratorOverrides":                        `{"taskDefinition":"web","containerInstances":["i"],"overrides":{"inferenceAcceleratorOverrides":[{"deviceName":"d"}]}}`,
	"CreateCapacityProvider.cluster":                                           `{"name":"cp","cluster":"default","autoScalingGroupProvider":{"autoScalingGroupArn":"g"}}`,
	"CreateCapacityProvider.managedInstancesProvider":                          `{"name":"cp","managedInstancesProvider":{"infrastructureRoleArn":"arn:x"}}`,
	"UpdateCapacityProvider.managedInstancesProvider":                          `{"name":"cp","managedInstancesProvider":{"infrastructureRoleArn":"arn:x"}}`,
}

// TestRequestShapes walks every member of the requests of ECS's model
// (botocore's newest, testdata/request-shapes.json) for the operations
// berth serves here: each is a member of berth's request message (so the
// wire takes it, never refusing it as unknown); those berth does not act on
// yet are named in the README; those it refuses are refused naming the
// member as not supported. The rest are honoured.
func TestRequestShapes(t *testing.T) {
	m := loadRequestModel(t)
	paths := map[string]bool{}
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		m.walkRequest(t, op, func(path string, fd protoreflect.FieldDescriptor) {
			paths[op+"."+path] = true
			if fd == nil {
				t.Errorf("%s.%s: a member of ECS's request that berth's message lacks (the wire refuses it as unknown)", op, path)
			}
		})
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range notActedOn {
		if !paths[p] {
			t.Errorf("notActedOn: %s is no member of ECS's requests", p)
		}
		name := p[strings.LastIndexAny(p, ".]")+1:]
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("%s is not acted on, and the README does not say so (it names no `%s`)", p, name)
		}
	}
	c := cptest.Start(t, controlplane.Config{})
	for _, s := range []struct{ op, body string }{
		{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","image":"busybox","memory":64}]}`},
		{"CreateCapacityProvider", `{"name":"cp","autoScalingGroupProvider":{"autoScalingGroupArn":"g"}}`},
	} {
		if err := invoke(t, c, s.op, s.body); err != nil {
			t.Fatalf("%s: %v", s.op, err)
		}
	}
	refused := make([]string, 0, len(refusedMembers))
	for p := range refusedMembers {
		refused = append(refused, p)
	}
	sort.Strings(refused)
	for _, p := range refused {
		if !paths[p] {
			t.Errorf("refusedMembers: %s is no member of ECS's requests", p)
			continue
		}
		op, member, _ := strings.Cut(p, ".")
		err := invoke(t, c, op, refusedMembers[p])
		field, rule := fieldViolation(err)
		if !strings.HasPrefix(stripIndexes(field), member) || !strings.Contains(rule, "not supported") {
			t.Errorf("%s: %v (field %q, rule %q), want it refused as not supported", p, err, field, rule)
		}
	}
}

// invoke calls the ECS operation over gRPC with a JSON request.
func invoke(t *testing.T, c *cptest.Cluster, op, body string) error {
	t.Helper()
	reqType, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("berth.v1." + op + "Request"))
	if err != nil {
		t.Fatal(err)
	}
	respType, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("berth.v1." + op + "Response"))
	if err != nil {
		t.Fatal(err)
	}
	req := reqType.New().Interface()
	if err := protojson.Unmarshal([]byte(body), req); err != nil {
		t.Fatalf("%s %s: %v", op, body, err)
	}
	return c.Dial(t).Invoke(c.Ctx, "/berth.v1.ECS/"+op, req, respType.New().Interface())
}

// fieldViolation is the field and rule of a gRPC error's BadRequest.
func fieldViolation(err error) (field, rule string) {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField(), br.GetFieldViolations()[0].GetDescription()
		}
	}
	return "", ""
}

// stripIndexes writes a field path's list indexes as the model's "[]".
func stripIndexes(path string) string {
	var b strings.Builder
	skip := false
	for _, r := range path {
		switch {
		case r == '[':
			skip = true
			b.WriteString("[]")
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}
