package ecsapi

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// addInstance registers an instance as the dispatcher does when an agent
// connects.
func addInstance(t testing.TB, s *Server, id, az, instanceType string, cpu, mem int32) {
	t.Helper()
	_, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: DefaultCluster, Id: id,
			Instance: &berthv1.ContainerInstance{Ec2InstanceId: "i-" + id, Attributes: []*berthv1.Attribute{
				{Name: "ecs.availability-zone", Value: az}, {Name: "ecs.instance-type", Value: instanceType}}},
			Registered: &berthv1.Resources{Cpu: cpu, Memory: mem, PortsTcp: []int32{22, 2375, 2376, 51678, 51679}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
}

func registerSized(t testing.TB, s *Server, family string, cpu, mem int32, hostPort int32) {
	t.Helper()
	req := webTaskDef(family)
	req.ContainerDefinitions[0].Cpu = cpu
	req.ContainerDefinitions[0].Memory = proto.Int32(mem)
	if hostPort > 0 {
		req.ContainerDefinitions[0].PortMappings = []*berthv1.PortMapping{{ContainerPort: 80, HostPort: proto.Int32(hostPort)}}
	}
	if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
		t.Fatal(err)
	}
}

// instancesOf names the instance of each task, sorted.
func instancesOf(tasks []*berthv1.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.ContainerInstanceArn[strings.LastIndex(t.ContainerInstanceArn, "/")+1:])
	}
	sort.Strings(out)
	return out
}

func threeAZs(t *testing.T) *Server {
	s := newServer(t)
	addInstance(t, s, "a1", "us-east-1a", "t3.large", 2048, 4096)
	addInstance(t, s, "b1", "us-east-1b", "m5.large", 2048, 4096)
	addInstance(t, s, "c1", "us-east-1c", "t3.large", 2048, 4096)
	registerSized(t, s, "web", 256, 512, 0)
	return s
}

func TestRunTaskSpreadsOverAZs(t *testing.T) {
	s := threeAZs(t)
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 3,
		PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(instancesOf(res.Tasks)); got != "[a1 b1 c1]" {
		t.Fatalf("spread over AZs placed on %s", got)
	}
	task := res.Tasks[0]
	if task.LastStatus != "PENDING" || task.DesiredStatus != "RUNNING" || task.Group != "family:web" || task.LaunchType != "EC2" ||
		task.Memory != "512" || len(task.Containers) != 1 || task.CreatedAt == 0 || task.AvailabilityZone == "" {
		t.Fatalf("new task: %v", task)
	}
}

func TestRunTaskHonoursMemberOfAndDraining(t *testing.T) {
	s := threeAZs(t)
	if _, err := s.UpdateContainerInstancesState(ctx, &berthv1.UpdateContainerInstancesStateRequest{
		ContainerInstances: []string{"a1"}, Status: "DRAINING"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 4,
		PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type =~ t3.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(instancesOf(res.Tasks)); got != "[c1 c1 c1 c1]" {
		t.Fatalf("memberOf t3.* with a1 DRAINING placed on %s", got)
	}
}

func TestRunTaskFailuresExplainWhy(t *testing.T) {
	s := threeAZs(t)
	registerSized(t, s, "huge", 256, 8192, 0)
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "huge", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 0 || len(res.Failures) != 2 || res.Failures[0].Reason != "RESOURCE:MEMORY" ||
		!strings.Contains(res.Failures[0].Arn, "container-instance/default/") {
		t.Fatalf("too big a task: %v", res)
	}
	registerSized(t, s, "port", 128, 128, 8080)
	res, _ = s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "port", Count: 4})
	if len(res.Tasks) != 3 || len(res.Failures) != 1 || res.Failures[0].Reason != "RESOURCE:PORTS" {
		t.Fatalf("static port 8080 on 3 instances, 4 tasks: %v", res)
	}
}

// Concurrent RunTask calls never overcommit an instance: the transaction that
// stores placed tasks checks the room again.
func TestConcurrentRunTaskNeverOvercommits(t *testing.T) {
	s := newServer(t)
	addInstance(t, s, "a1", "us-east-1a", "t3.large", 4096, 2048)
	addInstance(t, s, "b1", "us-east-1b", "t3.large", 4096, 2048)
	registerSized(t, s, "web", 128, 512, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			placed += len(res.Tasks)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if placed != 8 {
		t.Fatalf("%d tasks of 512 MiB placed on two 2048 MiB instances, want 8", placed)
	}
	for _, id := range []string{"a1", "b1"} {
		in, _ := s.store.ContainerInstance(DefaultCluster, id)
		if in.Allocated.Memory > in.Registered.Memory {
			t.Fatalf("%s overcommitted: %v", id, in.Allocated)
		}
	}
}

func TestStartStopDescribeListTasks(t *testing.T) {
	s := threeAZs(t)
	started, err := s.StartTask(ctx, &berthv1.StartTaskRequest{TaskDefinition: "web:1", ContainerInstances: []string{"b1", "nope"}, StartedBy: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(instancesOf(started.Tasks)) != "[b1]" || len(started.Failures) != 1 || started.Failures[0].Reason != "MISSING" {
		t.Fatalf("StartTask: %v", started)
	}
	run, _ := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 2, Group: "batch"})
	taskArn := started.Tasks[0].TaskArn
	stopped, err := s.StopTask(ctx, &berthv1.StopTaskRequest{Task: taskArn, Reason: "enough"})
	if err != nil || stopped.Task.DesiredStatus != "STOPPED" || stopped.Task.StopCode != "UserInitiated" || stopped.Task.StoppedReason != "enough" {
		t.Fatalf("StopTask: %v, %v", stopped, err)
	}
	desc, err := s.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: []string{taskArn, run.Tasks[0].TaskArn, "0123"}})
	if err != nil || len(desc.Tasks) != 2 || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" {
		t.Fatalf("DescribeTasks: %v, %v", desc, err)
	}
	count := func(req *berthv1.ListTasksRequest) int {
		t.Helper()
		n := 0
		for {
			res, err := s.ListTasks(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			n += len(res.TaskArns)
			if res.NextToken == "" {
				return n
			}
			req.NextToken = res.NextToken
		}
	}
	for _, tt := range []struct {
		req  *berthv1.ListTasksRequest
		want int
	}{
		{&berthv1.ListTasksRequest{}, 2},
		{&berthv1.ListTasksRequest{MaxResults: 1}, 2},
		{&berthv1.ListTasksRequest{DesiredStatus: "STOPPED"}, 1},
		{&berthv1.ListTasksRequest{StartedBy: "ci", DesiredStatus: "STOPPED"}, 1},
		{&berthv1.ListTasksRequest{Family: "web"}, 2},
		{&berthv1.ListTasksRequest{Family: "we"}, 0},
		{&berthv1.ListTasksRequest{ServiceName: "web"}, 0},
		{&berthv1.ListTasksRequest{ContainerInstance: "b1", DesiredStatus: "STOPPED"}, 1},
	} {
		if got := count(tt.req); got != tt.want {
			t.Errorf("ListTasks(%v) listed %d, want %d", tt.req, got, tt.want)
		}
	}
}

func TestContainerInstanceOperations(t *testing.T) {
	s := threeAZs(t)
	run, _ := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", PlacementConstraints: []*berthv1.PlacementConstraint{
		{Type: "memberOf", Expression: "attribute:ecs.availability-zone == us-east-1b"}}})
	if len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v", run)
	}
	desc, err := s.DescribeContainerInstances(ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{"b1", "zz"}})
	if err != nil || len(desc.ContainerInstances) != 1 || len(desc.Failures) != 1 {
		t.Fatalf("describe: %v, %v", desc, err)
	}
	b1 := desc.ContainerInstances[0]
	if b1.GetPendingTasksCount() != 1 || !b1.AgentConnected || b1.Status != "ACTIVE" ||
		b1.RemainingResources[1].GetIntegerValue() != 4096-512 || b1.RegisteredResources[0].GetIntegerValue() != 2048 {
		t.Fatalf("b1: %v", b1)
	}
	list := func(filter, status string) string {
		res, err := s.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{Filter: filter, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(instancesOfARNs(res.ContainerInstanceArns))
	}
	if got := list("attribute:ecs.instance-type == t3.large", ""); got != "[a1 c1]" {
		t.Fatalf("filter on instance type: %s", got)
	}
	if got := list("task:group == family:web", ""); got != "[b1]" {
		t.Fatalf("filter on task group: %s", got)
	}
	if _, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "stack", Value: "blue", TargetId: "c1"}}}); err != nil {
		t.Fatal(err)
	}
	if got := list("attribute:stack exists", ""); got != "[c1]" {
		t.Fatalf("filter on a custom attribute: %s", got)
	}
	s.UpdateContainerInstancesState(ctx, &berthv1.UpdateContainerInstancesStateRequest{ContainerInstances: []string{"a1"}, Status: "DRAINING"})
	if got := list("", "DRAINING"); got != "[a1]" {
		t.Fatalf("status DRAINING: %s", got)
	}
	_, err = s.DeregisterContainerInstance(ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: "b1"})
	wantErr(t, err, ecserr.FailedPrecondition, "deregister with force")
	dereg, err := s.DeregisterContainerInstance(ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: "b1", Force: proto.Bool(true)})
	if err != nil || dereg.ContainerInstance.Status != "INACTIVE" {
		t.Fatalf("force deregister: %v, %v", dereg, err)
	}
	if got := list("", ""); got != "[a1 c1]" {
		t.Fatalf("after deregistering b1: %s", got)
	}
}

func instancesOfARNs(arns []string) []string {
	var out []string
	for _, a := range arns {
		out = append(out, a[strings.LastIndex(a, "/")+1:])
	}
	return out
}

func TestTaskAndInstanceBadInput(t *testing.T) {
	s := threeAZs(t)
	if _, err := s.DeregisterTaskDefinition(ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web:1"}); err != nil {
		t.Fatal(err)
	}
	registerSized(t, s, "web", 256, 512, 0) // web:2
	fargateOnly := webTaskDef("fg")
	fargateOnly.RequiresCompatibilities = []string{"FARGATE"}
	fargateOnly.NetworkMode = "awsvpc"
	fargateOnly.Cpu, fargateOnly.Memory = "256", "512"
	if _, err := s.RegisterTaskDefinition(ctx, fargateOnly); err != nil {
		t.Fatal(err)
	}
	rejections(t, s, []rejection{
		{"run in unknown cluster", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{Cluster: "nope", TaskDefinition: "web"})
			return err
		}, ecserr.NotFound, `cluster "nope" not found`},
		{"run INACTIVE revision", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web:1"})
			return err
		}, ecserr.InvalidArgument, "web:1 is INACTIVE"},
		{"run unknown family", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "ghost"})
			return err
		}, ecserr.NotFound, `"ghost"`},
		{"run 11", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 11})
			return err
		}, ecserr.InvalidArgument, "count: must be between 1 and 10"},
		{"launch type and capacity providers", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", LaunchType: "EC2",
				CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{{CapacityProvider: "FARGATE"}}})
			return err
		}, ecserr.InvalidArgument, "cannot both be given"},
		{"bad launch type", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", LaunchType: "LAMBDA"})
			return err
		}, ecserr.InvalidArgument, "launchType: must be EC2, FARGATE or EXTERNAL"},
		{"FARGATE-only task definition on EC2", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg"})
			return err
		}, ecserr.InvalidArgument, "does not support launch_type EC2"},
		{"bad strategy", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "binpack", Field: "disk"}}})
			return err
		}, ecserr.InvalidArgument, "placementStrategy[0]"},
		{"bad memberOf", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "memberOf", Expression: "attribute:x =="}}})
			return err
		}, ecserr.InvalidArgument, "placementConstraints[0]"},
		{"override of a missing container", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Overrides: &berthv1.TaskOverride{
				ContainerOverrides: []*berthv1.ContainerOverride{{Name: "nope"}}}})
			return err
		}, ecserr.InvalidArgument, `overrides.containerOverrides[0].name: no container "nope"`},
		{"negative memory override", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Overrides: &berthv1.TaskOverride{
				ContainerOverrides: []*berthv1.ContainerOverride{{Name: "web", Memory: proto.Int32(-1)}}}})
			return err
		}, ecserr.InvalidArgument, "overrides.containerOverrides[0].memory: must not be negative"},
		{"start task without instances", func() error {
			_, err := s.StartTask(ctx, &berthv1.StartTaskRequest{TaskDefinition: "web"})
			return err
		}, ecserr.InvalidArgument, "containerInstances: give between 1 and 10"},
		{"stop task without task", func() error {
			_, err := s.StopTask(ctx, &berthv1.StopTaskRequest{})
			return err
		}, ecserr.InvalidArgument, "task: is required"},
		{"stop unknown task", func() error {
			_, err := s.StopTask(ctx, &berthv1.StopTaskRequest{Task: "0123"})
			return err
		}, ecserr.NotFound, "task 0123 not found"},
		{"stop task of another cluster", func() error {
			_, err := s.StopTask(ctx, &berthv1.StopTaskRequest{Task: "arn:aws:ecs:us-east-1:000000000000:task/other/0123"})
			return err
		}, ecserr.InvalidArgument, `belongs to cluster "other"`},
		{"describe 101 tasks", func() error {
			_, err := s.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: make([]string, 101)})
			return err
		}, ecserr.InvalidArgument, "tasks: give between 1 and 100"},
		{"list tasks bad desired status", func() error {
			_, err := s.ListTasks(ctx, &berthv1.ListTasksRequest{DesiredStatus: "DONE"})
			return err
		}, ecserr.InvalidArgument, "desiredStatus"},
		{"list tasks family and service", func() error {
			_, err := s.ListTasks(ctx, &berthv1.ListTasksRequest{Family: "a", ServiceName: "b"})
			return err
		}, ecserr.InvalidArgument, "cannot both be given"},
		{"list instances bad filter", func() error {
			_, err := s.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{Filter: "attribute:x ==="})
			return err
		}, ecserr.InvalidArgument, "filter: "},
		{"list instances bad status", func() error {
			_, err := s.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{Status: "GONE"})
			return err
		}, ecserr.InvalidArgument, "status: must be"},
		{"update instance state to INACTIVE", func() error {
			_, err := s.UpdateContainerInstancesState(ctx, &berthv1.UpdateContainerInstancesStateRequest{ContainerInstances: []string{"a1"}, Status: "INACTIVE"})
			return err
		}, ecserr.InvalidArgument, "status: must be ACTIVE or DRAINING"},
		{"deregister unknown instance", func() error {
			_, err := s.DeregisterContainerInstance(ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: "zz"})
			return err
		}, ecserr.NotFound, "zz"},
		{"put attribute with bad name", func() error {
			_, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "bad name!", TargetId: "a1"}}})
			return err
		}, ecserr.InvalidArgument, "attributes[0].name"},
		{"put attribute without target", func() error {
			_, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "a"}}})
			return err
		}, ecserr.InvalidArgument, "attributes[0].targetId: is required"},
		{"put attribute on unknown instance", func() error {
			_, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "a", TargetId: "zz"}}})
			return err
		}, ecserr.NotFound, "zz"},
	})
}

// Task-level cpu and memory overrides change what a task reserves, as ECS's
// do; one too large for every instance is a failure, not an error; a bad one
// names its member.
func TestRunTaskSizeOverrides(t *testing.T) {
	s := threeAZs(t) // instances of 2048 CPU units and 4096 MiB; web is 256/512
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 3,
		Overrides: &berthv1.TaskOverride{Cpu: "1 vCPU", Memory: "3 GB"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 3 || res.Tasks[0].Cpu != "1024" || res.Tasks[0].Memory != "3072" || res.Tasks[0].Overrides.GetCpu() != "1024" {
		t.Fatalf("overridden tasks: %v", res)
	}
	// Each instance now has 1024 units and 1024 MiB left: a second round of
	// the same size fits nowhere.
	res, err = s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 1,
		Overrides: &berthv1.TaskOverride{Memory: "2048"}})
	if err != nil || len(res.Tasks) != 0 || len(res.Failures) != 1 || res.Failures[0].Reason != "RESOURCE:MEMORY" {
		t.Fatalf("an override too large: %v %v", res, err)
	}
	res, err = s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Count: 1,
		Overrides: &berthv1.TaskOverride{Cpu: "4096"}})
	if err != nil || len(res.Tasks) != 0 || len(res.Failures) != 1 || res.Failures[0].Reason != "RESOURCE:CPU" {
		t.Fatalf("a cpu override too large: %v %v", res, err)
	}
	rejections(t, s, []rejection{
		{"cpu garbage", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Overrides: &berthv1.TaskOverride{Cpu: "lots"}})
			return err
		}, ecserr.InvalidArgument, "overrides.cpu:"},
		{"memory too small", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Overrides: &berthv1.TaskOverride{Memory: "2"}})
			return err
		}, ecserr.InvalidArgument, "overrides.memory: must be at least"},
		{"cpu below the range", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", Overrides: &berthv1.TaskOverride{Cpu: "64"}})
			return err
		}, ecserr.InvalidArgument, "overrides.cpu: must be 128 to"},
	})
}
