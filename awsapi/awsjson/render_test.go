package awsjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestMarshalRule(t *testing.T) {
	rule := Rule{
		"berth.v1.DescribeServicesResponse": {{Name: "services"}, {Name: "failures"}},
		"berth.v1.Service": {{Name: "runningCount"}, {Name: "placementStrategy"}, {Name: "deploymentConfiguration"},
			{Name: "tags", Include: "TAGS"}},
		"berth.v1.DeploymentConfiguration":       {{Name: "maximumPercent"}},
		"berth.v1.LogConfiguration":              {{Name: "options"}},
		"berth.v1.ContainerDefinition":           {{Name: "essential"}, {Name: "image"}, {Name: "logConfiguration"}},
		"berth.v1.RegisterTaskDefinitionRequest": {{Name: "containerDefinitions"}},
	}
	tests := []struct {
		name string
		m    proto.Message
		req  proto.Message
		want string
	}{
		{"empty lists", &berthv1.DescribeServicesResponse{}, nil, `{"services":[],"failures":[]}`},
		{"set members kept, missing ones added in field order",
			&berthv1.DescribeServicesResponse{Services: []*berthv1.Service{{ServiceName: "web", RunningCount: proto.Int32(2)}}}, nil,
			`{"services":[{"serviceName":"web","runningCount":2,"deploymentConfiguration":{"maximumPercent":0},"placementStrategy":[]}],"failures":[]}`},
		{"included on request",
			&berthv1.DescribeServicesResponse{Services: []*berthv1.Service{{ServiceName: "web"}}},
			&berthv1.DescribeServicesRequest{Include: []string{"TAGS"}},
			`{"services":[{"serviceName":"web","runningCount":0,"deploymentConfiguration":{"maximumPercent":0},"placementStrategy":[],"tags":[]}],"failures":[]}`},
		{"not included", &berthv1.DescribeServicesResponse{Services: []*berthv1.Service{{ServiceName: "web"}}},
			&berthv1.DescribeServicesRequest{Include: []string{"OTHER"}},
			`{"services":[{"serviceName":"web","runningCount":0,"deploymentConfiguration":{"maximumPercent":0},"placementStrategy":[]}],"failures":[]}`},
		{"maps, false, empty strings and text as it is",
			&berthv1.RegisterTaskDefinitionRequest{ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "<a&b>"}}}, nil,
			`{"containerDefinitions":[{"name":"<a&b>","image":"","essential":false,"logConfiguration":{"options":{}}}]}`},
		{"a message without rule", &berthv1.Tag{Key: "k"}, nil, `{"key":"k"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalRule(tt.m, tt.req, rule)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// No rule: exactly Marshal's output.
	m := &berthv1.DescribeServicesResponse{}
	a, _ := MarshalRule(m, nil, nil)
	b, _ := Marshal(m)
	if string(a) != string(b) {
		t.Errorf("without a rule: %s, Marshal: %s", a, b)
	}
}

// TestMarshalRuleAsProtojson checks that, for members the rule does not
// touch, the encoder writes what protojson writes: names, numbers (64-bit
// ones as strings), doubles, bytes, maps, optional members set to zero,
// text with escapes.
func TestMarshalRuleAsProtojson(t *testing.T) {
	untouched := Rule{"berth.v1.Nothing": nil, "berth.v1.Tag": {{Name: "value"}}}
	msgs := []proto.Message{
		&berthv1.RankStep{Strategy: "binpack(memory)", Candidates: 3, Score: -1 << 60},
		&berthv1.GetTaskLogsResponse{Container: "web", Data: []byte{0, 1, 2, 250, 255}},
		&berthv1.RegisterTaskDefinitionRequest{Family: "wéb \"x\" \\ \n\t\x01 <&>", Cpu: "256",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{
				Name: "a", Cpu: 10, Memory: proto.Int32(0), Essential: proto.Bool(false),
				DockerLabels:     map[string]string{"z": "1", "a": "2", "m": ""},
				LogConfiguration: &berthv1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"k": "v"}},
				PortMappings:     []*berthv1.PortMapping{{ContainerPort: 80, HostPort: proto.Int32(0)}, {ContainerPort: 81}},
			}}},
		&berthv1.DescribeTasksResponse{Tasks: []*berthv1.Task{{TaskArn: "t", CreatedAt: 1.7e9 + 0.123456, StartedAt: 1e-7, StoppedAt: 1e21}}},
	}
	for _, m := range msgs {
		got, err := MarshalRule(m, nil, untouched)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Marshal(m)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("encoder: %s\nprotojson: %s", got, want)
		}
		if strings.Join(strings.Fields(string(want)), "") != strings.Join(strings.Fields(string(got)), "") {
			t.Errorf("bytes differ beyond whitespace:\nencoder:   %s\nprotojson: %s", got, want)
		}
	}
	if _, err := MarshalRule(&berthv1.Tag{Key: "\xff"}, nil, untouched); err == nil {
		t.Errorf("invalid UTF-8 was written")
	}
}
