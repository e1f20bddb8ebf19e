package ecsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// errText is one error ECS has a known text for: the request, and ECS's
// exception and message word for word, with the field berth names beside
// them. Where each text is quoted is said in ecs/ecserr/texts.go and
// store/errors.go; the comment of each case repeats it.
type errText struct {
	name      string
	op        string
	body      string
	exception string
	message   string
	field     string // berth's field path, "" for none
}

var errTexts = []errText{
	// moto's ECS tests (test_list_unknown_service); terraform and ecs-deploy reports.
	{"cluster not found", "ListServices", `{"cluster":"nope"}`,
		"ClusterNotFoundException", "Cluster not found.", ""},
	// moto's ECS models (ServiceNotFoundException).
	{"service not found", "UpdateService", `{"service":"nope","desiredCount":1}`,
		"ServiceNotFoundException", "Service not found.", ""},
	// Apache Airflow's ECS executor tests (StopTask fixture); fog-aws's ECS mock.
	{"task not found", "StopTask", `{"task":"0123456789abcdef0123456789abcdef"}`,
		"InvalidParameterException", "The referenced task was not found.", ""},
	// moto's ECS tests (test_deregister_task_definition_2).
	{"revision missing", "DeregisterTaskDefinition", `{"taskDefinition":"web"}`,
		"ClientException", "Revision is missing.", "taskDefinition"},
	// moto's ECS tests; "Number: latest" in an ECS error CodeDeploy quotes.
	{"revision not a number", "DeregisterTaskDefinition", `{"taskDefinition":"web:foo"}`,
		"InvalidParameterException", "Invalid revision number. Number: foo", "taskDefinition"},
	// aws CLI output quoted in sil-org/ecs-deploy#145 and hashicorp/terraform#12609.
	{"describe missing revision", "DescribeTaskDefinition", `{"taskDefinition":"web:9"}`,
		"ClientException", "Unable to describe task definition.", "taskDefinition"},
	// moto's ECS tests (test_deregister_task_definition_2).
	{"deregister missing revision", "DeregisterTaskDefinition", `{"taskDefinition":"web:9"}`,
		"ClientException", "Unable to describe task definition.", "taskDefinition"},
	// Cloud-CV/EvalAI#2419, remind101/empire#353.
	{"service of a missing task definition", "CreateService", `{"serviceName":"other","taskDefinition":"nope:1","desiredCount":1}`,
		"ClientException", "TaskDefinition not found.", "taskDefinition"},
	// moto's ECS models (TaskDefinitionMissingPropertyError) and tests.
	{"container without a name", "RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"image":"busybox","memory":64}]}`,
		"ClientException", "Container.name should not be null or empty.", "containerDefinitions[0].name"},
	{"container without an image", "RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"name":"web","memory":64}]}`,
		"ClientException", "Container.image should not be null or empty.", "containerDefinitions[0].image"},
	// ECS's text quoted (confirmed live) by aws-cdk's Datadog construct; moto's ECS tests.
	{"container without memory", "RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"name":"web","image":"busybox"}]}`,
		"ClientException", "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified.",
		"containerDefinitions[0].memory"},
	// dagster-io/dagster#6926 (ECS's stray "+" included).
	{"dependency on a missing container", "RegisterTaskDefinition", `{"family":"x","containerDefinitions":[{"name":"web","image":"busybox","memory":64,"dependsOn":[{"containerName":"db","condition":"START"}]}]}`,
		"ClientException", "Cannot depend on container + 'db' because it does not exist", "containerDefinitions[0].dependsOn[0].containerName"},
	// The ECS Developer Guide's troubleshooting page for task cpu and memory.
	{"fargate cpu", "RegisterTaskDefinition", `{"family":"x","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"768","memory":"2048","containerDefinitions":[{"name":"web","image":"busybox"}]}`,
		"ClientException", "Invalid 'cpu' setting for task.", "cpu"},
	{"fargate memory", "RegisterTaskDefinition", `{"family":"x","requiresCompatibilities":["FARGATE"],"networkMode":"awsvpc","cpu":"256","memory":"4096","containerDefinitions":[{"name":"web","image":"busybox"}]}`,
		"ClientException", "No Fargate configuration exists for given values.", "memory"},
	// moto's ECS models and tests; users' reports of the ECS console.
	{"service scaled above 0", "DeleteService", `{"service":"svc"}`,
		"InvalidParameterException", "The service cannot be stopped while it is scaled above 0.", ""},
}

// TestErrorTexts checks ECS's texts word for word, exception and message,
// over the JSON wire with aws-sdk-go-v2 and over gRPC (the message, and the
// exception in the status's ErrorInfo), and berth's field path beside them:
// the error body's extra "field" member and the status's BadRequest.
func TestErrorTexts(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	client := sdk(t, c.CP, c.CP.AccessKey())
	ctx := context.Background()
	setup := []struct{ op, body string }{
		{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","image":"busybox","memory":64}]}`},
		{"CreateService", `{"serviceName":"svc","taskDefinition":"web","desiredCount":1}`},
	}
	for _, s := range setup {
		if err := callSDK(ctx, client, s.op, s.body); err != nil {
			t.Fatalf("%s: %v", s.op, err)
		}
	}
	for _, tt := range errTexts {
		t.Run(tt.name, func(t *testing.T) {
			err := callSDK(ctx, client, tt.op, tt.body)
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("sdk: %v, want an API error", err)
			}
			if api.ErrorCode() != tt.exception || api.ErrorMessage() != tt.message {
				t.Errorf("sdk: %s %q\nwant %s %q", api.ErrorCode(), api.ErrorMessage(), tt.exception, tt.message)
			}
			checkGRPCText(t, c, tt)
			checkWireBody(t, c.CP, tt)
		})
	}
}

// checkGRPCText makes the call over gRPC and checks the status's message,
// its ErrorInfo's exception and its BadRequest's field.
func checkGRPCText(t *testing.T, c *cptest.Cluster, tt errText) {
	t.Helper()
	reqType, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("berth.v1." + tt.op + "Request"))
	if err != nil {
		t.Fatal(err)
	}
	req := reqType.New().Interface()
	if err := protojson.Unmarshal([]byte(tt.body), req); err != nil {
		t.Fatal(err)
	}
	respType, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("berth.v1." + tt.op + "Response"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Dial(t).Invoke(c.Ctx, "/berth.v1.ECS/"+tt.op, req, respType.New().Interface())
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("grpc: %v, want a status", err)
	}
	if st.Message() != tt.message {
		t.Errorf("grpc message %q, want %q", st.Message(), tt.message)
	}
	var exception, field string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			exception = d.GetReason()
			if d.GetDomain() != "ecs.amazonaws.com" {
				t.Errorf("grpc ErrorInfo domain %q", d.GetDomain())
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				field = v.GetField()
				if v.GetDescription() == "" {
					t.Errorf("grpc field violation of %s without a description", field)
				}
			}
		}
	}
	if exception != tt.exception || field != tt.field {
		t.Errorf("grpc details: exception %q field %q, want %q %q", exception, field, tt.exception, tt.field)
	}
}

// checkWireBody sends the request signed, as the SDK does, and checks the
// error body's extra members: the field, and berth's own words.
func checkWireBody(t *testing.T, cp *controlplane.ControlPlane, tt errText) {
	t.Helper()
	code, body := signedDoc(t, cp, tt.op, []byte(tt.body), time.Now())
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Detail  string `json:"detail"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if code != http.StatusBadRequest || e.Type != tt.exception || e.Message != tt.message || e.Field != tt.field {
		t.Errorf("wire: %d %s", code, body)
	}
	if e.Detail == "" || e.Detail == e.Message {
		t.Errorf("wire: detail %q: want berth's own words beside ECS's text", e.Detail)
	}
}

// sdkCalls call the ECS client's operations from a JSON request (the SDK's
// input structures take ECS's JSON member names).
var sdkCalls = map[string]func(context.Context, *ecs.Client, []byte) error{
	"ListServices":             sdkCall((*ecs.Client).ListServices),
	"UpdateService":            sdkCall((*ecs.Client).UpdateService),
	"StopTask":                 sdkCall((*ecs.Client).StopTask),
	"DeregisterTaskDefinition": sdkCall((*ecs.Client).DeregisterTaskDefinition),
	"DescribeTaskDefinition":   sdkCall((*ecs.Client).DescribeTaskDefinition),
	"RegisterTaskDefinition":   sdkCall((*ecs.Client).RegisterTaskDefinition),
	"CreateService":            sdkCall((*ecs.Client).CreateService),
	"DeleteService":            sdkCall((*ecs.Client).DeleteService),
}

func sdkCall[In, Out any](op func(*ecs.Client, context.Context, *In, ...func(*ecs.Options)) (*Out, error)) func(context.Context, *ecs.Client, []byte) error {
	return func(ctx context.Context, c *ecs.Client, body []byte) error {
		in := new(In)
		if err := json.Unmarshal(body, in); err != nil {
			return err
		}
		_, err := op(c, ctx, in)
		return err
	}
}

func callSDK(ctx context.Context, c *ecs.Client, op, body string) error {
	call, ok := sdkCalls[op]
	if !ok {
		return errors.New("no SDK call for " + op)
	}
	return call(ctx, c, []byte(body))
}
