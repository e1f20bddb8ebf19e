package taskdef

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
)

func TestValidateNormalizes(t *testing.T) {
	tests := []struct {
		name, doc, want string // want: the TaskDefinition as JSON
	}{
		{"defaults", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64,
			'portMappings': [{'containerPort': 80}, {'containerPort': 53, 'hostPort': 0, 'protocol': 'udp'}]}]}`,
			`{'family': 'f', 'networkMode': 'bridge', 'compatibilities': ['EC2'],
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': true,
			'portMappings': [{'containerPort': 80, 'protocol': 'tcp'}, {'containerPort': 53, 'hostPort': 0, 'protocol': 'udp'}]}]}`},
		{"awsvpc host ports", `{'family': 'f', 'networkMode': 'awsvpc', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64,
			'essential': false, 'portMappings': [{'containerPort': 80}]}, {'name': 'b', 'image': 'x', 'memoryReservation': 64}]}`,
			`{'family': 'f', 'networkMode': 'awsvpc', 'compatibilities': ['EC2'],
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': false,
			'portMappings': [{'containerPort': 80, 'hostPort': 80, 'protocol': 'tcp'}]},
			{'name': 'b', 'image': 'x', 'memoryReservation': 64, 'essential': true}]}`},
		{"fargate sizes", `{'family': 'f', 'requiresCompatibilities': ['FARGATE', 'EC2'], 'networkMode': 'awsvpc',
			'cpu': '0.5 VCPU', 'memory': '1GB', 'containerDefinitions': [{'name': 'a', 'image': 'x'}]}`,
			`{'family': 'f', 'requiresCompatibilities': ['FARGATE', 'EC2'], 'compatibilities': ['EC2', 'FARGATE'],
			'networkMode': 'awsvpc', 'cpu': '512', 'memory': '1024',
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'essential': true}]}`},
		{"external", `{'family': 'f', 'requiresCompatibilities': ['EXTERNAL'], 'cpu': ' 256 ', 'memory': '0.5 gb',
			'containerDefinitions': [{'name': 'a', 'image': 'x'}]}`,
			`{'family': 'f', 'requiresCompatibilities': ['EXTERNAL'], 'compatibilities': ['EC2', 'EXTERNAL'],
			'networkMode': 'bridge', 'cpu': '256', 'memory': '512',
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'essential': true}]}`},
		{"efs root directory", `{'family': 'f', 'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'fileSystemId': 'fs-1'}},
			{'name': 'w', 'efsVolumeConfiguration': {'fileSystemId': 'fs-2', 'transitEncryption': 'ENABLED', 'authorizationConfig': {'accessPointId': 'fsap-1', 'iam': 'ENABLED'}}}],
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'restartPolicy': {'enabled': false}}], 'enableFaultInjection': true}`,
			`{'family': 'f', 'networkMode': 'bridge', 'compatibilities': ['EC2'], 'enableFaultInjection': true,
			'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'fileSystemId': 'fs-1', 'rootDirectory': '/'}},
			{'name': 'w', 'efsVolumeConfiguration': {'fileSystemId': 'fs-2', 'rootDirectory': '/', 'transitEncryption': 'ENABLED', 'authorizationConfig': {'accessPointId': 'fsap-1', 'iam': 'ENABLED'}}}],
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': true, 'restartPolicy': {'enabled': false}}]}`},
		{"health check defaults", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64,
			'healthCheck': {'command': ['CMD', 'true'], 'retries': 5}}]}`,
			`{'family': 'f', 'networkMode': 'bridge', 'compatibilities': ['EC2'],
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': true,
			'healthCheck': {'command': ['CMD', 'true'], 'interval': 30, 'timeout': 5, 'retries': 5, 'startPeriod': 0}}]}`},
		{"every field copied", `{'family': 'f', 'taskRoleArn': 'arn:task', 'executionRoleArn': 'arn:exec',
			'volumes': [{'name': 'v'}], 'placementConstraints': [{'type': 'memberOf', 'expression': 'task:group == g'}],
			'pidMode': 'task', 'ipcMode': 'none', 'proxyConfiguration': {'type': 'APPMESH', 'containerName': 'a'},
			'inferenceAccelerators': [{'deviceName': 'd', 'deviceType': 'eia2.medium'}],
			'ephemeralStorage': {'sizeInGiB': 30}, 'runtimePlatform': {'operatingSystemFamily': 'LINUX'},
			'tags': [{'key': 'k', 'value': 'v'}], 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64}]}`,
			`{'family': 'f', 'taskRoleArn': 'arn:task', 'executionRoleArn': 'arn:exec', 'networkMode': 'bridge',
			'compatibilities': ['EC2'], 'volumes': [{'name': 'v'}],
			'placementConstraints': [{'type': 'memberOf', 'expression': 'task:group == g'}],
			'pidMode': 'task', 'ipcMode': 'none', 'proxyConfiguration': {'type': 'APPMESH', 'containerName': 'a'},
			'inferenceAccelerators': [{'deviceName': 'd', 'deviceType': 'eia2.medium'}],
			'ephemeralStorage': {'sizeInGiB': 30}, 'runtimePlatform': {'operatingSystemFamily': 'LINUX'},
			'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': true}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := decode(t, tt.doc)
			before := proto.Clone(req)
			got, err := Validate(req)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := &berthv1.TaskDefinition{}
			if err := awsjson.Unmarshal([]byte(strings.ReplaceAll(tt.want, "'", `"`)), want); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if !proto.Equal(req, before) {
				t.Errorf("Validate modified its request")
			}
			assertIdempotent(t, got)
		})
	}
}

// assertIdempotent registers td again and expects td back.
func assertIdempotent(t testing.TB, td *berthv1.TaskDefinition) {
	t.Helper()
	again, err := Validate(requestFrom(td))
	if err != nil {
		t.Fatalf("re-validating the output: %v\noutput: %v", err, td)
	}
	if !proto.Equal(again, td) {
		t.Fatalf("normalization is not idempotent:\nfirst:  %v\nsecond: %v", td, again)
	}
}

// requestFrom is the request that registers td again.
func requestFrom(td *berthv1.TaskDefinition) *berthv1.RegisterTaskDefinitionRequest {
	td = proto.Clone(td).(*berthv1.TaskDefinition)
	return &berthv1.RegisterTaskDefinitionRequest{
		Family:                  td.Family,
		TaskRoleArn:             td.TaskRoleArn,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		NetworkMode:             td.NetworkMode,
		ContainerDefinitions:    td.ContainerDefinitions,
		Volumes:                 td.Volumes,
		PlacementConstraints:    td.PlacementConstraints,
		RequiresCompatibilities: td.RequiresCompatibilities,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		PidMode:                 td.PidMode,
		IpcMode:                 td.IpcMode,
		ProxyConfiguration:      td.ProxyConfiguration,
		InferenceAccelerators:   td.InferenceAccelerators,
		EphemeralStorage:        td.EphemeralStorage,
		RuntimePlatform:         td.RuntimePlatform,
		EnableFaultInjection:    td.EnableFaultInjection,
	}
}
