package taskdef

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// FuzzRegisterTaskDefinition feeds JSON through awsjson.Unmarshal and
// Validate. Nothing may panic, every rejection is an InvalidArgument with a
// message, and what registers registers again to itself, also after a trip
// through ECS JSON.
func FuzzRegisterTaskDefinition(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(taskdefsDir(f), "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
			f.Add([]byte(`{"family": "wrapped", "containerDefinitions": ` + string(data) + `}`))
		}
	}
	f.Add([]byte(`{"family": "f", "containerDefinitions": [{"name": "a", "image": "x", "memory": 64,
		"healthCheck": {"command": ["CMD", "true"]}, "dependsOn": [{"containerName": "b", "condition": "HEALTHY"}]},
		{"name": "b", "image": "x", "memoryReservation": 32, "essential": false, "healthCheck": {"command": ["CMD-SHELL", "x"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &berthv1.RegisterTaskDefinitionRequest{}
		if err := awsjson.Unmarshal(data, req); err != nil {
			assertRejection(t, err)
			return
		}
		td, err := Validate(req)
		if err != nil {
			assertRejection(t, err)
			return
		}
		assertIdempotent(t, td)
		assertJSONRoundTrip(t, td)
	})
}

func assertRejection(t *testing.T, err error) {
	t.Helper()
	e := ecserr.From(err)
	if e.Class != ecserr.InvalidArgument || e.Message == "" {
		t.Fatalf("rejection %v has class %v, want InvalidArgument with a message", err, e.Class)
	}
}

// assertJSONRoundTrip checks that a stored task definition survives ECS JSON,
// as DescribeTaskDefinition will send it.
func assertJSONRoundTrip(t *testing.T, td *berthv1.TaskDefinition) {
	t.Helper()
	data, err := awsjson.Marshal(td)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back := &berthv1.TaskDefinition{}
	if err := awsjson.Unmarshal(data, back); err != nil {
		t.Fatalf("Unmarshal of Marshal output %s: %v", data, err)
	}
	if !proto.Equal(back, td) {
		t.Fatalf("JSON round trip changed the task definition:\nbefore: %v\nafter:  %v", td, back)
	}
}
