package ecsapi

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// fargateTaskDef is a valid Fargate task definition of the size given.
func fargateTaskDef(family, cpu, memory string) *berthv1.RegisterTaskDefinitionRequest {
	req := webTaskDef(family)
	req.RequiresCompatibilities = []string{"FARGATE"}
	req.NetworkMode = "awsvpc"
	req.Cpu, req.Memory = cpu, memory
	return req
}

func mustRegisterReq(t *testing.T, s *Server, req *berthv1.RegisterTaskDefinitionRequest) {
	t.Helper()
	if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
		t.Fatal(err)
	}
}

// addPoolHost registers a Fargate pool host, as its agent would.
func addPoolHost(t *testing.T, s *Server, id string, cpu, mem int32) {
	t.Helper()
	_, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: DefaultCluster, Id: id,
			Instance: &berthv1.ContainerInstance{Ec2InstanceId: "i-" + id, Attributes: []*berthv1.Attribute{
				{Name: "ecs.availability-zone", Value: "us-east-1a"}, {Name: store.PoolAttribute, Value: store.PoolFargate},
				{Name: store.PoolHostAttribute, Value: "host-" + id}}},
			Registered: &berthv1.Resources{Cpu: cpu, Memory: mem},
		}}})
	if err != nil {
		t.Fatal(err)
	}
}

func cps(items ...*berthv1.CapacityProviderStrategyItem) []*berthv1.CapacityProviderStrategyItem {
	return items
}

func TestFargateBadInput(t *testing.T) {
	s := threeAZs(t) // web: an EC2 task definition (no requiresCompatibilities, bridge)
	mustRegisterReq(t, s, fargateTaskDef("fg", "256", "512"))
	ec2Only := fargateTaskDef("ec2only", "256", "512")
	ec2Only.RequiresCompatibilities = []string{"EC2"}
	mustRegisterReq(t, s, ec2Only) // awsvpc, sized, but not FARGATE
	withMemberOf := fargateTaskDef("pinned", "256", "512")
	withMemberOf.RequiresCompatibilities = []string{"EC2"}
	withMemberOf.PlacementConstraints = []*berthv1.TaskDefinitionPlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.instance-type == t3.large"}}
	mustRegisterReq(t, s, withMemberOf)
	fargateItem := &berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Weight: 1}
	run := func(req *berthv1.RunTaskRequest) func() error {
		return func() error { _, err := s.RunTask(ctx, req); return err }
	}
	create := func(req *berthv1.CreateServiceRequest) func() error {
		return func() error { _, err := s.CreateService(ctx, req); return err }
	}
	rejections(t, s, []rejection{
		// Invalid task sizes and network modes are refused at registration.
		{"register bad Fargate cpu", func() error {
			_, err := s.RegisterTaskDefinition(ctx, fargateTaskDef("x", "300", "512"))
			return err
		}, ecserr.InvalidArgument, "Invalid 'cpu' setting for task."},
		{"register bad Fargate memory", func() error {
			_, err := s.RegisterTaskDefinition(ctx, fargateTaskDef("x", "256", "4096"))
			return err
		}, ecserr.InvalidArgument, "No Fargate configuration exists for given values."},
		{"register Fargate without awsvpc", func() error {
			req := fargateTaskDef("x", "256", "512")
			req.NetworkMode = "bridge"
			_, err := s.RegisterTaskDefinition(ctx, req)
			return err
		}, ecserr.InvalidArgument, "Fargate only supports network mode 'awsvpc'."},
		// RunTask.
		{"run FARGATE with a task definition without FARGATE", run(&berthv1.RunTaskRequest{TaskDefinition: "web", LaunchType: "FARGATE"}),
			ecserr.InvalidArgument, "Task definition does not support launch_type FARGATE."},
		{"run FARGATE with an EC2-only awsvpc task definition", run(&berthv1.RunTaskRequest{TaskDefinition: "ec2only", LaunchType: "FARGATE"}),
			ecserr.InvalidArgument, "Task definition does not support launch_type FARGATE."},
		{"run FARGATE with a strategy", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE",
			PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "binpack", Field: "memory"}}}),
			ecserr.InvalidArgument, "placementStrategy: Fargate does not support placement strategies"},
		{"run FARGATE with a constraint", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE",
			PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "distinctInstance"}}}),
			ecserr.InvalidArgument, "placementConstraints: Fargate does not support placement constraints"},
		{"run capacity providers with a strategy", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(fargateItem),
			PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "random"}}}),
			ecserr.InvalidArgument, "placementStrategy: Fargate does not support placement strategies"},
		{"run FARGATE and capacity providers", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE", CapacityProviderStrategy: cps(fargateItem)}),
			ecserr.InvalidArgument, "launchType: launchType and capacityProviderStrategy cannot both be given"},
		{"run weights all 0", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(
			&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Base: 1}, &berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT"})}),
			ecserr.InvalidArgument, "capacityProviderStrategy: The specified capacity provider strategy must contain at least one capacity provider with a weight value greater than 0"},
		{"run two bases", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(
			&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Base: 1, Weight: 1}, &berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT", Base: 2, Weight: 1})}),
			ecserr.InvalidArgument, "capacityProviderStrategy: Only one capacity provider in a capacity provider strategy can have a base defined"},
		{"run unknown capacity provider", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(
			&berthv1.CapacityProviderStrategyItem{CapacityProvider: "my-asg", Weight: 1})}),
			ecserr.InvalidArgument, `capacityProviderStrategy[0].capacityProvider: capacity provider "my-asg" does not exist`},
		{"run provider twice", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(fargateItem, fargateItem)}),
			ecserr.InvalidArgument, "capacityProviderStrategy[1].capacityProvider: FARGATE is listed twice"},
		{"run weight too big", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(
			&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Weight: 1001})}),
			ecserr.InvalidArgument, "capacityProviderStrategy[0].weight: must be between 0 and 1000"},
		{"run negative base", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", CapacityProviderStrategy: cps(
			&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Weight: 1, Base: -1})}),
			ecserr.InvalidArgument, "capacityProviderStrategy[0].base: must be between 0 and 100000"},
		{"run FARGATE 11", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE", Count: 11}),
			ecserr.InvalidArgument, "count: must be between 1 and 10"},
		{"run FARGATE overridden to a size Fargate lacks", run(&berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE",
			Overrides: &berthv1.TaskOverride{Memory: "16 GB"}}),
			ecserr.InvalidArgument, "overrides.memory"},
		// CreateService.
		{"service DAEMON on FARGATE", create(&berthv1.CreateServiceRequest{ServiceName: "d", TaskDefinition: "fg", SchedulingStrategy: "DAEMON", LaunchType: "FARGATE"}),
			ecserr.InvalidArgument, "schedulingStrategy: Fargate does not support the DAEMON scheduling strategy"},
		{"service DAEMON with capacity providers", create(&berthv1.CreateServiceRequest{ServiceName: "d", TaskDefinition: "fg", SchedulingStrategy: "DAEMON",
			CapacityProviderStrategy: cps(fargateItem)}),
			ecserr.InvalidArgument, "capacityProviderStrategy: The DAEMON scheduling strategy does not support a capacity provider strategy"},
		{"service FARGATE with a task definition without FARGATE", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "web", LaunchType: "FARGATE", DesiredCount: proto.Int32(1)}),
			ecserr.InvalidArgument, "Task definition does not support launch_type FARGATE."},
		{"service FARGATE with a strategy", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "fg", LaunchType: "FARGATE", DesiredCount: proto.Int32(1),
			PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "spread", Field: "instanceId"}}}),
			ecserr.InvalidArgument, "placementStrategy: Fargate does not support placement strategies"},
		{"service FARGATE with a constraint", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "fg", LaunchType: "FARGATE", DesiredCount: proto.Int32(1),
			PlacementConstraints: []*berthv1.PlacementConstraint{{Type: "distinctInstance"}}}),
			ecserr.InvalidArgument, "placementConstraints: Fargate does not support placement constraints"},
		{"service with launch type and capacity providers", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "fg", LaunchType: "FARGATE",
			DesiredCount: proto.Int32(1), CapacityProviderStrategy: cps(fargateItem)}),
			ecserr.InvalidArgument, "launchType and capacityProviderStrategy cannot both be given"},
		{"service weights all 0", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "fg", DesiredCount: proto.Int32(1),
			CapacityProviderStrategy: cps(&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT"})}),
			ecserr.InvalidArgument, "must contain at least one capacity provider with a weight value greater than 0"},
		{"service two bases", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "fg", DesiredCount: proto.Int32(1),
			CapacityProviderStrategy: cps(&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Base: 1, Weight: 1},
				&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT", Base: 1, Weight: 1})}),
			ecserr.InvalidArgument, "Only one capacity provider in a capacity provider strategy can have a base defined"},
		{"service FARGATE with a task definition memberOf", create(&berthv1.CreateServiceRequest{ServiceName: "s", TaskDefinition: "pinned", CapacityProviderStrategy: cps(fargateItem), DesiredCount: proto.Int32(1)}),
			ecserr.InvalidArgument, "Task definition does not support launch_type FARGATE."},
	})
}

func TestRunFargateTask(t *testing.T) {
	s := threeAZs(t)
	mustRegisterReq(t, s, fargateTaskDef("fg", "512", "1024"))
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg", LaunchType: "FARGATE", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 3 || len(res.Failures) != 0 {
		t.Fatalf("RunTask FARGATE: %v", res)
	}
	for _, task := range res.Tasks {
		if task.LastStatus != "PROVISIONING" || task.LaunchType != "FARGATE" || task.ContainerInstanceArn != "" ||
			task.Cpu != "512" || task.Memory != "1024" || task.DesiredStatus != "RUNNING" {
			t.Fatalf("Fargate task: %v", task)
		}
	}
	desc, err := s.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: []string{res.Tasks[0].TaskArn}})
	if err != nil || len(desc.Tasks) != 1 || desc.Tasks[0].ContainerInstanceArn != "" || desc.Tasks[0].LastStatus != "PROVISIONING" {
		t.Fatalf("DescribeTasks: %v %v", desc, err)
	}
	cl, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{})
	if err != nil || cl.Clusters[0].GetPendingTasksCount() != 3 || cl.Clusters[0].GetRegisteredContainerInstancesCount() != 3 {
		t.Fatalf("cluster counts with 3 tasks PROVISIONING: %v %v", cl, err)
	}
	// A task waiting for capacity stops at once.
	stopped, err := s.StopTask(ctx, &berthv1.StopTaskRequest{Task: res.Tasks[0].TaskArn})
	if err != nil || stopped.Task.LastStatus != "STOPPED" || stopped.Task.StopCode != "UserInitiated" {
		t.Fatalf("StopTask of a PROVISIONING task: %v %v", stopped, err)
	}
	// Capacity providers: base 2 on FARGATE, then 1:3.
	res, err = s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "fg", Count: 10, CapacityProviderStrategy: cps(
		&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Base: 2, Weight: 1},
		&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT", Weight: 3})})
	if err != nil {
		t.Fatal(err)
	}
	byProvider := map[string]int{}
	for _, task := range res.Tasks {
		byProvider[task.CapacityProviderName]++
		if task.LaunchType != "FARGATE" {
			t.Fatalf("capacity provider task: launchType %q", task.LaunchType)
		}
	}
	if byProvider["FARGATE"] != 4 || byProvider["FARGATE_SPOT"] != 6 {
		t.Fatalf("base 2 weight 1 / weight 3 over 10 tasks: %v, want FARGATE 4, FARGATE_SPOT 6", byProvider)
	}
}

// Pool hosts are not the user's: hidden from the instance operations and
// the cluster's count, and never used by EC2 placement.
func TestPoolHostsAreHidden(t *testing.T) {
	s := newServer(t)
	addPoolHost(t, s, "pool1", 4096, 8192)
	registerSized(t, s, "web", 256, 512, 0)
	list, err := s.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Fatalf("ListContainerInstances shows pool hosts: %v %v", list, err)
	}
	poolARN := s.arns.ContainerInstance(DefaultCluster, "pool1")
	desc, err := s.DescribeContainerInstances(ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{poolARN}})
	if err != nil || len(desc.ContainerInstances) != 0 || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" {
		t.Fatalf("DescribeContainerInstances of a pool host: %v %v", desc, err)
	}
	cl, err := s.DescribeClusters(ctx, &berthv1.DescribeClustersRequest{})
	if err != nil || cl.Clusters[0].GetRegisteredContainerInstancesCount() != 0 {
		t.Fatalf("registeredContainerInstancesCount counts pool hosts: %v %v", cl, err)
	}
	run, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web"})
	if err != nil || len(run.Tasks) != 0 || len(run.Failures) == 0 {
		t.Fatalf("EC2 RunTask with only a pool host: %v %v", run, err)
	}
	start, err := s.StartTask(ctx, &berthv1.StartTaskRequest{TaskDefinition: "web", ContainerInstances: []string{poolARN}})
	if err != nil || len(start.Tasks) != 0 || len(start.Failures) != 1 || start.Failures[0].Reason != "MISSING" {
		t.Fatalf("StartTask on a pool host: %v %v", start, err)
	}
	rejections(t, s, []rejection{
		{"deregister a pool host", func() error {
			_, err := s.DeregisterContainerInstance(ctx, &berthv1.DeregisterContainerInstanceRequest{ContainerInstance: poolARN})
			return err
		}, ecserr.NotFound, "not found"},
		{"put attributes on a pool host", func() error {
			_, err := s.PutAttributes(ctx, &berthv1.PutAttributesRequest{Attributes: []*berthv1.Attribute{{Name: "x", TargetId: poolARN}}})
			return err
		}, ecserr.NotFound, "not found"},
	})
	upd, err := s.UpdateContainerInstancesState(ctx, &berthv1.UpdateContainerInstancesStateRequest{ContainerInstances: []string{poolARN}, Status: "DRAINING"})
	if err != nil || len(upd.ContainerInstances) != 0 || len(upd.Failures) != 1 {
		t.Fatalf("UpdateContainerInstancesState of a pool host: %v %v", upd, err)
	}
}

// A cluster's default capacity provider strategy applies to requests that
// give neither a launch type nor a strategy, as in ECS.
func TestClusterDefaultCapacityProviderStrategy(t *testing.T) {
	s := newServer(t)
	mustRegisterReq(t, s, fargateTaskDef("fg", "256", "512"))
	if _, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: "fg", CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: cps(&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE_SPOT", Weight: 1})}); err != nil {
		t.Fatal(err)
	}
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{Cluster: "fg", TaskDefinition: "fg", Count: 2})
	if err != nil || len(res.Tasks) != 2 {
		t.Fatalf("RunTask on the cluster's default strategy: %v %v", res, err)
	}
	for _, task := range res.Tasks {
		if task.LaunchType != "FARGATE" || task.CapacityProviderName != "FARGATE_SPOT" || task.LastStatus != "PROVISIONING" {
			t.Fatalf("task: launchType %q provider %q status %q", task.LaunchType, task.CapacityProviderName, task.LastStatus)
		}
	}
	svc, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{Cluster: "fg", ServiceName: "web", TaskDefinition: "fg", DesiredCount: proto.Int32(1)})
	if err != nil || len(svc.Service.CapacityProviderStrategy) != 1 || svc.Service.LaunchType != "" {
		t.Fatalf("CreateService on the cluster's default strategy: %v %v", svc, err)
	}
	// An explicit launch type wins; the default cluster has no default strategy.
	if _, err := s.RunTask(ctx, &berthv1.RunTaskRequest{Cluster: "fg", TaskDefinition: "fg", LaunchType: "EC2"}); err == nil ||
		!strings.Contains(err.Error(), "does not support launch_type EC2") {
		t.Fatalf("EC2 on a FARGATE-only task definition: %v", err)
	}
}
