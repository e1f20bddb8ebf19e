package engine

import (
	"context"
	"reflect"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// TestContainerSpec checks the translation of a container definition, with RunTask's
// container overrides, into what the runtime creates.
func TestContainerSpec(t *testing.T) {
	a := testTask("0123abcd", "bridge", &berthv1.ContainerDefinition{
		Name: "app", Image: "img", Cpu: 256, MemoryReservation: new(int32(64)),
		EntryPoint: []string{"/bin/app"}, Command: []string{"serve"},
		Environment:      []*berthv1.KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
		WorkingDirectory: "/srv", User: "nobody",
		DockerLabels:    map[string]string{"team": "web"},
		Ulimits:         []*berthv1.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 2048}},
		PortMappings:    []*berthv1.PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 53, HostPort: new(int32(5353)), Protocol: "udp"}},
		Links:           []string{"db:database", "cache"},
		HealthCheck:     &berthv1.HealthCheck{Command: []string{"CMD", "true"}, Interval: new(int32(5)), Timeout: new(int32(2)), Retries: new(int32(3)), StartPeriod: new(int32(10))},
		StopTimeout:     new(int32(7)),
		LinuxParameters: &berthv1.LinuxParameters{InitProcessEnabled: new(true)},
	})
	a.TaskDefinition.Memory = "512"
	a.Task.Overrides = &berthv1.TaskOverride{ContainerOverrides: []*berthv1.ContainerOverride{{
		Name: "app", Command: []string{"migrate"}, Environment: []*berthv1.KeyValuePair{{Name: "B", Value: "override"}},
	}}}
	got := containerSpec(a, a.TaskDefinition.ContainerDefinitions[0], Options{ContainerInstanceARN: testInstanceARN, StopTimeout: DefaultStopTimeout})
	want := runtime.ContainerSpec{
		Name:  "ecs-test-1-app-0123abcd",
		Image: "img",
		Owner: runtime.Owner{TaskARN: a.Task.TaskArn, ContainerName: "app", Cluster: a.Task.ClusterArn,
			ContainerInstanceARN: testInstanceARN},
		DockerLabels: map[string]string{"team": "web"},
		EntryPoint:   []string{"/bin/app"},
		Command:      []string{"migrate"},
		Environment: map[string]string{"A": "1", "B": "override",
			"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_EXECUTION_ENV": "AWS_ECS_EC2"}, // as ECS sets them
		WorkingDirectory: "/srv", User: "nobody",
		CPU: 256, Memory: 512, MemoryReservation: 64,
		Ulimits:      []runtime.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 2048}},
		NetworkMode:  runtime.NetworkBridge,
		PortMappings: []runtime.PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 5353, Protocol: "udp"}},
		Links:        []string{"ecs-test-1-db-0123abcd:database", "ecs-test-1-cache-0123abcd:cache"},
		HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", "true"},
			Interval: 5 * time.Second, Timeout: 2 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		StopTimeout:        7 * time.Second,
		InitProcessEnabled: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("containerSpec:\n got %+v\nwant %+v", got, want)
	}
}

// TestPortMappingsByNetworkMode: bridge publishes as asked (0 is dynamic), host binds
// the container port itself, awsvpc and none publish nothing.
func TestPortMappingsByNetworkMode(t *testing.T) {
	pms := []*berthv1.PortMapping{{ContainerPort: 8080, Protocol: "tcp"}}
	for mode, want := range map[string][]runtime.PortMapping{
		runtime.NetworkBridge: {{ContainerPort: 8080, HostPort: 0, Protocol: "tcp"}},
		runtime.NetworkHost:   {{ContainerPort: 8080, HostPort: 8080, Protocol: "tcp"}},
		NetworkAWSVPC:         nil,
		runtime.NetworkNone:   nil,
	} {
		if got := portMappings(mode, pms); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: portMappings = %+v, want %+v", mode, got, want)
		}
	}
}

// TestMountsFromVolumes checks how mountPoints and volumesFrom become mounts: task
// volumes under the task's own directory, host volumes at their sourcePath, volumesFrom
// followed through chains (once, even in a cycle), read-only when asked, and a
// container's own mount of a path winning over one it would take from another.
func TestMountsFromVolumes(t *testing.T) {
	mp := func(vol, path string, ro bool) *berthv1.MountPoint {
		return &berthv1.MountPoint{SourceVolume: vol, ContainerPath: path, ReadOnly: ro}
	}
	a := testTask("0123abcd", "bridge",
		&berthv1.ContainerDefinition{Name: "a", MountPoints: []*berthv1.MountPoint{mp("data", "/data", false), mp("host", "/h", true)},
			VolumesFrom: []*berthv1.VolumeFrom{{SourceContainer: "c"}}},
		&berthv1.ContainerDefinition{Name: "b", VolumesFrom: []*berthv1.VolumeFrom{{SourceContainer: "a", ReadOnly: true}}},
		&berthv1.ContainerDefinition{Name: "c", MountPoints: []*berthv1.MountPoint{mp("cache", "/data", false)},
			VolumesFrom: []*berthv1.VolumeFrom{{SourceContainer: "b"}}},
	)
	a.TaskDefinition.Volumes = []*berthv1.Volume{{Name: "data"}, {Name: "cache", Host: &berthv1.HostVolumeProperties{}},
		{Name: "host", Host: &berthv1.HostVolumeProperties{SourcePath: "/srv/host"}}}
	opts := Options{ContainerInstanceARN: testInstanceARN, VolumesDir: "/vols"}
	want := map[string][]runtime.Mount{
		"a": {{Source: "/vols/0123abcd/data", Target: "/data"}, {Source: "/srv/host", Target: "/h", ReadOnly: true}},
		"b": {{Source: "/vols/0123abcd/data", Target: "/data", ReadOnly: true}, {Source: "/srv/host", Target: "/h", ReadOnly: true}},
		"c": {{Source: "/vols/0123abcd/cache", Target: "/data"}, {Source: "/srv/host", Target: "/h", ReadOnly: true}},
	}
	for _, def := range a.TaskDefinition.ContainerDefinitions {
		if got := containerSpec(a, def, opts).Mounts; !reflect.DeepEqual(got, want[def.Name]) {
			t.Errorf("%s mounts:\n got %+v\nwant %+v", def.Name, got, want[def.Name])
		}
	}
	task := newTask(a, opts)
	if got := task.volumeDirs(task.containers[2]); !reflect.DeepEqual(got, []string{"/vols/0123abcd/cache"}) {
		t.Errorf("c's volume dirs = %v, want only the task volume it mounts", got)
	}
	if task.volumesDir != "/vols/0123abcd" || task.stopping {
		t.Errorf("task volumes dir %q, stopping %v; want /vols/0123abcd and a task that starts", task.volumesDir, task.stopping)
	}
	if why := volumeProblem(a, Options{}); why == "" {
		t.Error("a task volume without a VolumesDir is not reported as a problem")
	}
}

// TestDockerSettingsSpec checks that a container definition's Docker settings reach
// the runtime's spec: none is dropped on the way.
func TestDockerSettingsSpec(t *testing.T) {
	def := &berthv1.ContainerDefinition{
		Name: "app", Image: "img", Memory: new(int32(128)),
		Hostname: "app.local", DnsServers: []string{"10.0.0.2"}, DnsSearchDomains: []string{"corp"},
		ExtraHosts: []*berthv1.HostEntry{{Hostname: "db", IpAddress: "10.0.0.9"}},
		Privileged: new(true), ReadonlyRootFilesystem: new(true),
		DockerSecurityOptions: []string{"no-new-privileges"},
		Interactive:           new(true), PseudoTerminal: new(true),
		SystemControls:       []*berthv1.SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}},
		LogConfiguration:     &berthv1.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}},
		ResourceRequirements: []*berthv1.ResourceRequirement{{Type: "GPU", Value: "2"}},
		LinuxParameters: &berthv1.LinuxParameters{
			Capabilities:     &berthv1.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
			Devices:          []*berthv1.Device{{HostPath: "/dev/fuse", Permissions: []string{"read"}}},
			SharedMemorySize: 64,
			Tmpfs:            []*berthv1.Tmpfs{{ContainerPath: "/run", Size: 16, MountOptions: []string{"noexec"}}},
			MaxSwap:          new(int32(32)),
		},
	}
	a := testTask("0123abcd", "bridge", def)
	a.TaskDefinition.PidMode, a.TaskDefinition.IpcMode = "host", "none"
	got := containerSpec(a, def, Options{ContainerInstanceARN: testInstanceARN})
	want := runtime.ContainerSpec{
		Hostname: "app.local", DNSServers: []string{"10.0.0.2"}, DNSSearchDomains: []string{"corp"},
		ExtraHosts: []runtime.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}},
		Privileged: true, ReadonlyRootFilesystem: true, SecurityOptions: []string{"no-new-privileges"},
		Interactive: true, PseudoTerminal: true,
		Sysctls: map[string]string{"net.core.somaxconn": "1024"},
		Log:     &runtime.LogConfig{Driver: "json-file"}, // awslogs: kept on the agent
		GPUs:    2,
		CapAdd:  []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"},
		Devices:          []runtime.Device{{HostPath: "/dev/fuse", Permissions: []string{"read"}}},
		SharedMemorySize: 64,
		Tmpfs:            []runtime.Tmpfs{{ContainerPath: "/run", Size: 16, MountOptions: []string{"noexec"}}},
		MaxSwap:          new(int64(32)), Swappiness: new(int64(defaultSwappiness)),
		PidMode: runtime.NamespaceHost, IpcMode: runtime.NamespaceNone,
	}
	// Only the settings under test are compared.
	got.Name, got.Image, got.Owner, got.Environment, got.Memory, got.NetworkMode, got.StopTimeout = "", "", runtime.Owner{}, nil, 0, "", 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("containerSpec:\n got %+v\nwant %+v", got, want)
	}
}

// TestLogConfig: Docker's own drivers keep their options; awslogs and awsfirelens,
// whose services berth lacks, keep the output on the agent as json-file.
func TestLogConfig(t *testing.T) {
	opts := map[string]string{"max-size": "10m"}
	for driver, want := range map[string]*runtime.LogConfig{
		"json-file":   {Driver: "json-file", Options: opts},
		"syslog":      {Driver: "syslog", Options: opts},
		"awslogs":     {Driver: "json-file"},
		"awsfirelens": {Driver: "json-file"},
	} {
		if got := logConfig(&berthv1.LogConfiguration{LogDriver: driver, Options: opts}); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: logConfig = %+v, want %+v", driver, got, want)
		}
	}
}

// The control plane's limits size the container: its own, after overrides,
// and the task's memory for a container without a hard limit.
func TestContainerSpecTakesTheLimits(t *testing.T) {
	a := testTask("0123abcd", "bridge", &berthv1.ContainerDefinition{Name: "app", Image: "img", Cpu: 256},
		&berthv1.ContainerDefinition{Name: "side", Image: "img", Cpu: 128, Memory: new(int32(64))})
	a.TaskDefinition.Memory = "512"
	a.Limits = &berthv1.TaskLimits{Cpu: 1024, Memory: 2048, Containers: []*berthv1.ContainerLimits{
		{Name: "app", Cpu: 512, MemoryReservation: 100}, {Name: "side", Cpu: 128, Memory: 96}}}
	opts := Options{ContainerInstanceARN: testInstanceARN}
	app := containerSpec(a, a.TaskDefinition.ContainerDefinitions[0], opts)
	side := containerSpec(a, a.TaskDefinition.ContainerDefinitions[1], opts)
	if app.CPU != 512 || app.Memory != 2048 || app.MemoryReservation != 100 {
		t.Errorf("app: cpu %d memory %d reservation %d, want 512 2048 (the task's, overridden) 100", app.CPU, app.Memory, app.MemoryReservation)
	}
	if side.CPU != 128 || side.Memory != 96 {
		t.Errorf("side: cpu %d memory %d, want 128 96", side.CPU, side.Memory)
	}
}

// TestTaskEnvironmentPrecedence: environment files under the definition's
// environment, secrets over both,
// the endpoint's variables over all, and AWS_ENDPOINT_URL and the region only
// where the container sets none; secret log options join the driver's own.
func TestTaskEnvironmentPrecedence(t *testing.T) {
	a := &berthv1.TaskAssignment{
		Task: &berthv1.Task{TaskArn: "arn:aws:ecs:eu-west-1:000000000000:task/default/0123abcd", LaunchType: "FARGATE"},
		TaskDefinition: &berthv1.TaskDefinition{Family: "f", Revision: 1, ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "app", Image: "img", Environment: []*berthv1.KeyValuePair{{Name: "DB_PASSWORD", Value: "plain"}, {Name: "KEEP", Value: "1"}},
				LogConfiguration: &berthv1.LogConfiguration{LogDriver: "json-file", Options: map[string]string{"max-size": "1m"}}},
			{Name: "own", Image: "img", Environment: []*berthv1.KeyValuePair{{Name: "AWS_ENDPOINT_URL", Value: "http://mine"}, {Name: "AWS_DEFAULT_REGION", Value: "us-west-2"}}},
		}},
		AwsEndpointUrl: "http://127.0.0.1:7480",
		ContainerSecrets: []*berthv1.ContainerSecrets{{ContainerName: "app",
			Environment: map[string]string{"DB_PASSWORD": "s3cret"}, LogOptions: map[string]string{"token": "t0ken"},
			FileEnvironment: map[string]string{"KEEP": "from-file", "FROM_FILE": "f", "DB_PASSWORD": "from-file"}}},
	}
	opts := Options{ContainerInstanceARN: testInstanceARN, TaskEndpoint: fakeEndpoint{}}
	app := containerSpec(a, a.TaskDefinition.ContainerDefinitions[0], opts)
	want := map[string]string{"DB_PASSWORD": "s3cret", "KEEP": "1", "FROM_FILE": "f", "ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:1/v4/app",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:7480", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}
	if !reflect.DeepEqual(app.Environment, want) {
		t.Errorf("app environment:\n got %v\nwant %v", app.Environment, want)
	}
	if got := app.Log.Options; !reflect.DeepEqual(got, map[string]string{"max-size": "1m", "token": "t0ken"}) {
		t.Errorf("app log options: %v", got)
	}
	if a.TaskDefinition.ContainerDefinitions[0].LogConfiguration.Options["token"] != "" {
		t.Error("the definition's log options were changed")
	}
	own := containerSpec(a, a.TaskDefinition.ContainerDefinitions[1], opts)
	want = map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:1/v4/own", "AWS_ENDPOINT_URL": "http://mine",
		"AWS_DEFAULT_REGION": "us-west-2", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}
	if !reflect.DeepEqual(own.Environment, want) {
		t.Errorf("own environment:\n got %v\nwant %v", own.Environment, want)
	}
}

// TestLambdaCredentialsInEnvironment: an assignment that asks for it gets
// its role's credentials in Lambda's variables, over the definition's, and
// no ECS AWS_EXECUTION_ENV; one that does not gets neither.
func TestLambdaCredentialsInEnvironment(t *testing.T) {
	a := &berthv1.TaskAssignment{
		Task: &berthv1.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/berth-lambda/0123abcd", LaunchType: "EC2"},
		TaskDefinition: &berthv1.TaskDefinition{Family: "lambda-f", Revision: 1, NetworkMode: "host", ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "function", Image: "img", Environment: []*berthv1.KeyValuePair{{Name: "AWS_ACCESS_KEY_ID", Value: "mine"}, {Name: "AWS_REGION", Value: "us-east-1"}}}}},
		AwsEndpointUrl:               "http://127.0.0.1:7480",
		TaskRoleCredentials:          &berthv1.RoleCredentials{AccessKeyId: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"},
		RoleCredentialsInEnvironment: true,
	}
	got := containerSpec(a, a.TaskDefinition.ContainerDefinitions[0], Options{ContainerInstanceARN: testInstanceARN}).Environment
	want := map[string]string{"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_ACCESS_KEY": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN": "token", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:7480"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment:\n got %v\nwant %v", got, want)
	}
	a.RoleCredentialsInEnvironment = false
	got = containerSpec(a, a.TaskDefinition.ContainerDefinitions[0], Options{ContainerInstanceARN: testInstanceARN}).Environment
	if got["AWS_SESSION_TOKEN"] != "" || got["AWS_ACCESS_KEY_ID"] != "mine" {
		t.Errorf("without the ask: %v", got)
	}
}

type fakeEndpoint struct{}

func (fakeEndpoint) Environment(_ *berthv1.TaskAssignment, c string) map[string]string {
	return map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://127.0.0.1:1/v4/" + c}
}
func (fakeEndpoint) ContainerStarted(context.Context, string, string, runtime.ContainerState) error {
	return nil
}
func (fakeEndpoint) TaskChanged(*berthv1.TaskAssignment, *berthv1.TaskStateChange) {}
func (fakeEndpoint) TaskGone(string)                                               {}
