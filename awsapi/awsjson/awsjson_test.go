package awsjson

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func TestUnmarshalAccepts(t *testing.T) {
	tests := []struct {
		name string
		json string
		want *berthv1.RegisterTaskDefinitionRequest
	}{
		{"json names", `{"family": "web", "networkMode": "awsvpc", "cpu": "1 vCPU"}`,
			&berthv1.RegisterTaskDefinitionRequest{Family: "web", NetworkMode: "awsvpc", Cpu: "1 vCPU"}},
		{"proto names", `{"family": "web", "network_mode": "host"}`,
			&berthv1.RegisterTaskDefinitionRequest{Family: "web", NetworkMode: "host"}},
		{"numbers as strings", `{"containerDefinitions": [{"name": "a", "cpu": "256", "memory": "512",
			"portMappings": [{"containerPort": "80"}]}]}`,
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{
				Name: "a", Cpu: 256, Memory: proto.Int32(512),
				PortMappings: []*berthv1.PortMapping{{ContainerPort: 80}},
			}}}},
		{"integral float", `{"containerDefinitions": [{"cpu": 1.0, "memory": 1e2}]}`,
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{
				Cpu: 1, Memory: proto.Int32(100)}}}},
		{"null is unset", `{"family": null, "volumes": null, "containerDefinitions": [{"healthCheck": null}]}`,
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{}}}},
		{"maps", `{"containerDefinitions": [{"dockerLabels": {"a": "b"},
			"logConfiguration": {"logDriver": "awslogs", "options": {"k": "v"}}}]}`,
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{
				DockerLabels:     map[string]string{"a": "b"},
				LogConfiguration: &berthv1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"k": "v"}},
			}}}},
		{"explicit false and zero", `{"containerDefinitions": [{"essential": false,
			"portMappings": [{"containerPort": 80, "hostPort": 0}]}]}`,
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{
				Essential:    proto.Bool(false),
				PortMappings: []*berthv1.PortMapping{{ContainerPort: 80, HostPort: proto.Int32(0)}},
			}}}},
		{"custom json name", `{"ephemeralStorage": {"sizeInGiB": 30}}`,
			&berthv1.RegisterTaskDefinitionRequest{EphemeralStorage: &berthv1.EphemeralStorage{SizeInGib: 30}}},
		{"empty object", `{}`, &berthv1.RegisterTaskDefinitionRequest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := &berthv1.RegisterTaskDefinitionRequest{}
			if err := Unmarshal([]byte(tt.json), got); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"unknown nested field", `{"family": "x", "containerDefinitions": [{"name": "a"},
			{"name": "b", "portBindings": [{"containerPort": 80}]}]}`,
			"containerDefinitions[1].portBindings: unknown field"},
		{"unknown top-level field", `{"family": "x", "famliy": "y"}`, "famliy: unknown field"},
		{"unknown deep field", `{"containerDefinitions": [{"portMappings": [{"containerPort": 80, "hostport": 80}]}]}`,
			"containerDefinitions[0].portMappings[0].hostport: unknown field"},
		{"unknown in message map value's sibling", `{"containerDefinitions": [{"healthCheck": {"command": ["CMD"], "every": 5}}]}`,
			"containerDefinitions[0].healthCheck.every: unknown field"},
		{"first unknown in document order", `{"zzz": 1, "aaa": 2}`, "zzz: unknown field"},
		{"duplicate under both names", `{"networkMode": "host", "network_mode": "bridge"}`, "networkMode: duplicate field"},
		{"template token as number", `{"containerDefinitions": [{"healthCheck": {"command": ["CMD-SHELL", "true"],
			"startPeriod": $$$$START_PERIOD$$$$}}]}`, "invalid JSON at line 2, column 19: invalid character '$' looking for beginning of value"},
		{"template token quoted", `{"containerDefinitions": [{"healthCheck": {"startPeriod": "$$$$START_PERIOD$$$$"}}]}`,
			`containerDefinitions[0].healthCheck.startPeriod: must be an integer, got string "$$$$START_PERIOD$$$$"`},
		{"missing comma", "{\n  \"family\": \"x\"\n  \"cpu\": \"256\"\n}",
			"invalid JSON at line 3, column 3: invalid character '\"' after object key:value pair"},
		{"missing comma in array", `{"containerDefinitions": [{"name": "a"} {"name": "b"}]}`,
			"invalid JSON at line 1, column 41: invalid character '{' after array element"},
		{"truncated", `{"family": "x"`, "invalid JSON at line 1, column 15: unexpected end of input"},
		{"empty", ``, "invalid JSON at line 1, column 1: unexpected end of input"},
		{"trailing data", `{} {}`, "invalid JSON at line 1, column 4: data after the top-level value"},
		{"bare array", `[{"name": "a"}]`, "invalid request: the document must be a JSON object, got an array"},
		{"string for int", `{"containerDefinitions": [{"memory": "lots"}]}`,
			`containerDefinitions[0].memory: must be an integer, got string "lots"`},
		{"fraction for int", `{"containerDefinitions": [{"cpu": 1.5}]}`,
			"containerDefinitions[0].cpu: must be an integer, got 1.5"},
		{"int out of range", `{"containerDefinitions": [{"cpu": 3000000000}]}`,
			"containerDefinitions[0].cpu: must be an integer between -2147483648 and 2147483647, got 3000000000"},
		{"number for string", `{"cpu": 256}`, "cpu: must be a string, got number 256"},
		{"string for bool", `{"containerDefinitions": [{"essential": "true"}]}`,
			`containerDefinitions[0].essential: must be true or false, got string "true"`},
		{"object for list", `{"containerDefinitions": {"name": "a"}}`,
			"containerDefinitions: must be a JSON array, got an object"},
		{"null in list", `{"containerDefinitions": [null]}`,
			"containerDefinitions[0]: must be a JSON object, got null"},
		{"bad map value", `{"containerDefinitions": [{"dockerLabels": {"a": 1}}]}`,
			`containerDefinitions[0].dockerLabels["a"]: must be a string, got number 1`},
		{"duplicate map key", `{"containerDefinitions": [{"dockerLabels": {"a": "1", "a": "2"}}]}`,
			`containerDefinitions[0].dockerLabels["a"]: duplicate key`},
		{"string for message", `{"runtimePlatform": "LINUX"}`, `runtimePlatform: must be a JSON object, got string "LINUX"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.json), &berthv1.RegisterTaskDefinitionRequest{})
			if err == nil {
				t.Fatalf("Unmarshal succeeded, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			if !apierr.Is(err, apierr.InvalidArgument) {
				t.Errorf("error class = %v, want InvalidArgument", apierr.From(err).Class)
			}
		})
	}
}

func TestUnmarshalTooDeep(t *testing.T) {
	doc := `{"containerDefinitions": [{"dockerLabels": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`
	err := Unmarshal([]byte(doc), &berthv1.RegisterTaskDefinitionRequest{})
	if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v, want a nesting error", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	in := &berthv1.RegisterTaskDefinitionRequest{
		Family: "web", NetworkMode: "awsvpc",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{
			Name: "app", Essential: proto.Bool(false),
			PortMappings: []*berthv1.PortMapping{{ContainerPort: 80, HostPort: proto.Int32(0)}},
		}},
	}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"networkMode"`, `"containerDefinitions"`, `"hostPort"`, `"essential"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Marshal output %s lacks %s", data, want)
		}
	}
	if strings.Contains(string(data), `"cpu"`) {
		t.Errorf("Marshal output %s has an unset member", data)
	}
	out := &berthv1.RegisterTaskDefinitionRequest{}
	if err := Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Errorf("round trip: got %v, want %v", out, in)
	}
}
