package awsjson

import (
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
