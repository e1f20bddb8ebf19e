package ecsapi

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

func external() *berthv1.DeploymentController { return &berthv1.DeploymentController{Type: "EXTERNAL"} }

func percent(v float64) *berthv1.Scale {
	return &berthv1.Scale{Value: proto.Float64(v), Unit: "PERCENT"}
}

// externalServer has the task definition web:1 (with port 80), an EXTERNAL
// service "ext" of desired count 5 and an ECS service "rolling".
func externalServer(t *testing.T) *Server {
	t.Helper()
	s := newServer(t)
	req := webTaskDef("web")
	req.ContainerDefinitions[0].PortMappings = []*berthv1.PortMapping{{ContainerPort: 80}}
	if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "ext", DesiredCount: proto.Int32(5), DeploymentController: external()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: "rolling", TaskDefinition: "web", DesiredCount: proto.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTaskSets(t *testing.T) {
	s := externalServer(t)
	svc, _ := s.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"ext"}})
	if got := svc.Services[0]; len(got.Deployments) != 0 || got.TaskDefinition != "" || got.DeploymentController.GetType() != "EXTERNAL" {
		t.Fatalf("a new EXTERNAL service: %v", got)
	}
	res, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web", Scale: percent(30),
		ExternalId: "deploy-1", ClientToken: "tok", Tags: []*berthv1.Tag{{Key: "team", Value: "web"}},
		LoadBalancers: []*berthv1.LoadBalancer{{TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/1", ContainerName: "web", ContainerPort: proto.Int32(80)}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := res.TaskSet
	prefix := "arn:aws:ecs:us-east-1:000000000000:task-set/default/ext/"
	if !strings.HasPrefix(ts.Id, "ecs-svc/") || len(ts.Id) != len("ecs-svc/")+19 || ts.TaskSetArn != prefix+ts.Id {
		t.Fatalf("id %q, ARN %q", ts.Id, ts.TaskSetArn)
	}
	// 30 % of 5 is 1.5: 2 tasks.
	if ts.Status != "ACTIVE" || ts.GetComputedDesiredCount() != 2 || ts.StabilityStatus != "STABILIZING" || ts.LaunchType != "EC2" ||
		ts.ServiceArn != "arn:aws:ecs:us-east-1:000000000000:service/default/ext" || ts.ExternalId != "deploy-1" || len(ts.LoadBalancers) != 1 {
		t.Fatalf("task set: %v", ts)
	}
	again, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web", Scale: percent(30), ClientToken: "tok"})
	if err != nil || again.TaskSet.Id != ts.Id {
		t.Fatalf("the same client token made another task set: %v, %v", again, err)
	}

	second, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web:1"})
	if err != nil {
		t.Fatal(err)
	}
	if v := second.TaskSet.GetScale().GetValue(); v != 100 || second.TaskSet.GetComputedDesiredCount() != 5 {
		t.Fatalf("without a scale: %v %%, %d tasks; want 100 %%, 5", v, second.TaskSet.GetComputedDesiredCount())
	}

	desc, err := s.DescribeTaskSets(ctx, &berthv1.DescribeTaskSetsRequest{Service: "ext", TaskSets: []string{ts.TaskSetArn, "ecs-svc/1234567890123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.TaskSets) != 1 || desc.TaskSets[0].Tags != nil || len(desc.Failures) != 1 || desc.Failures[0].Reason != "MISSING" ||
		desc.Failures[0].Arn != prefix+"ecs-svc/1234567890123456789" {
		t.Fatalf("describe: %v", desc)
	}
	withTags, _ := s.DescribeTaskSets(ctx, &berthv1.DescribeTaskSetsRequest{Service: "ext", Include: []string{"TAGS"}})
	if len(withTags.TaskSets) != 2 || len(withTags.TaskSets[0].Tags) != 1 {
		t.Fatalf("describe all with TAGS: %v", withTags)
	}

	up, err := s.UpdateTaskSet(ctx, &berthv1.UpdateTaskSetRequest{Service: "ext", TaskSet: ts.Id, Scale: percent(0)})
	if err != nil || up.TaskSet.GetComputedDesiredCount() != 0 || up.TaskSet.GetScale().Value == nil {
		t.Fatalf("scale to 0: %v, %v", up, err)
	}
	if _, err := s.UpdateServicePrimaryTaskSet(ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "ext", PrimaryTaskSet: ts.Id}); err != nil {
		t.Fatal(err)
	}
	prim, err := s.UpdateServicePrimaryTaskSet(ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "ext", PrimaryTaskSet: second.TaskSet.TaskSetArn})
	if err != nil || prim.TaskSet.Status != "PRIMARY" {
		t.Fatalf("primary: %v, %v", prim, err)
	}
	svc, _ = s.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"ext"}})
	statuses := map[string]string{}
	for _, x := range svc.Services[0].TaskSets {
		statuses[x.Id] = x.Status
	}
	if statuses[ts.Id] != "ACTIVE" || statuses[second.TaskSet.Id] != "PRIMARY" || svc.Services[0].TaskDefinition != second.TaskSet.TaskDefinition {
		t.Fatalf("after switching the primary: %v, service task definition %q", statuses, svc.Services[0].TaskDefinition)
	}

	// UpdateService changes the desired count, and with it every task set's.
	if _, err := s.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: "ext", DesiredCount: proto.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, deleteTaskSet(s, second.TaskSet.Id, false), ecserr.InvalidArgument, "Primary TaskSet cannot be deleted")
	del, err := s.DeleteTaskSet(ctx, &berthv1.DeleteTaskSetRequest{Service: "ext", TaskSet: ts.Id})
	if err != nil || del.TaskSet.Status != "DRAINING" {
		t.Fatalf("delete: %v, %v", del, err)
	}
	if del, err := s.DeleteTaskSet(ctx, &berthv1.DeleteTaskSetRequest{Service: "ext", TaskSet: second.TaskSet.Id, Force: true}); err != nil || del.TaskSet.Status != "DRAINING" {
		t.Fatalf("delete the primary with force: %v, %v", del, err)
	}
	svc, _ = s.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{"ext"}})
	if got := svc.Services[0]; got.TaskDefinition != "" || len(got.TaskSets) != 2 {
		t.Fatalf("after deleting the primary: task definition %q, %d task sets (DRAINING until their tasks stop)", got.TaskDefinition, len(got.TaskSets))
	}
}

func deleteTaskSet(s *Server, id string, force bool) error {
	_, err := s.DeleteTaskSet(ctx, &berthv1.DeleteTaskSetRequest{Service: "ext", TaskSet: id, Force: force})
	return err
}

func TestTaskSetsFiveAtMost(t *testing.T) {
	s := externalServer(t)
	for range 5 {
		if _, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web"})
	wantException(t, err, ecserr.InvalidParameterException,
		"5 deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.")
}

func wantException(t *testing.T, err error, exception, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s %q", exception, message)
	}
	e := ecserr.From(err)
	// The message is ECS's text where ECS has one, berth's words (Own)
	// beside it.
	if got := ecserr.Exception(e); got != exception || !strings.Contains(e.Message, message) && !strings.Contains(e.Own(), message) {
		t.Fatalf("%s %q (%q); want %s %q", got, e.Message, e.Own(), exception, message)
	}
}

// Bad input gets ECS's exception, and berth's field and rule where ECS has
// no known text; nothing is stored.
func TestTaskSetsBadInput(t *testing.T) {
	s := externalServer(t)
	ts, err := s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(mod func(*berthv1.CreateTaskSetRequest)) func() error {
		return func() error {
			req := &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web"}
			mod(req)
			_, err := s.CreateTaskSet(ctx, req)
			return err
		}
	}
	createService := func(mod func(*berthv1.CreateServiceRequest)) func() error {
		return func() error {
			req := &berthv1.CreateServiceRequest{ServiceName: "ext2", DesiredCount: proto.Int32(1), DeploymentController: external()}
			mod(req)
			_, err := s.CreateService(ctx, req)
			return err
		}
	}
	tests := []struct {
		name      string
		call      func() error
		exception string
		want      string
	}{
		{"a task set on a service without the EXTERNAL controller", create(func(r *berthv1.CreateTaskSetRequest) { r.Service = "rolling" }),
			ecserr.InvalidParameterException, "Amazon ECS only supports task set management on services configured to use external deployment controllers."},
		{"describe the task sets of an ECS service", func() error {
			_, err := s.DescribeTaskSets(ctx, &berthv1.DescribeTaskSetsRequest{Service: "rolling"})
			return err
		}, ecserr.InvalidParameterException, "Amazon ECS only supports task set management"},
		{"primary on an ECS service", func() error {
			_, err := s.UpdateServicePrimaryTaskSet(ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "rolling", PrimaryTaskSet: ts.TaskSet.Id})
			return err
		}, ecserr.InvalidParameterException, "Amazon ECS only supports task set management"},
		{"unknown service", create(func(r *berthv1.CreateTaskSetRequest) { r.Service = "nope" }), ecserr.ServiceNotFoundException, "nope"},
		{"unknown cluster", create(func(r *berthv1.CreateTaskSetRequest) { r.Cluster = "nope" }), ecserr.ClusterNotFoundException, ""},
		{"no task definition", create(func(r *berthv1.CreateTaskSetRequest) { r.TaskDefinition = "" }), ecserr.InvalidParameterException, "taskDefinition: is required"},
		{"unknown task definition", create(func(r *berthv1.CreateTaskSetRequest) { r.TaskDefinition = "nope" }), ecserr.ClientException, "nope"},
		{"scale over 100", create(func(r *berthv1.CreateTaskSetRequest) { r.Scale = percent(101) }), ecserr.InvalidParameterException, "scale.value: must be between 0 and 100"},
		{"scale below 0", create(func(r *berthv1.CreateTaskSetRequest) { r.Scale = percent(-1) }), ecserr.InvalidParameterException, "scale.value"},
		{"scale unit", create(func(r *berthv1.CreateTaskSetRequest) {
			r.Scale = &berthv1.Scale{Value: proto.Float64(1), Unit: "TASKS"}
		}), ecserr.InvalidParameterException, "scale.unit: must be PERCENT"},
		{"launch type and strategy", create(func(r *berthv1.CreateTaskSetRequest) {
			r.LaunchType, r.CapacityProviderStrategy = "EC2", cps(&berthv1.CapacityProviderStrategyItem{CapacityProvider: "FARGATE", Weight: 1})
		}), ecserr.InvalidParameterException, "launchType"},
		{"load balancer without target", create(func(r *berthv1.CreateTaskSetRequest) {
			r.LoadBalancers = []*berthv1.LoadBalancer{{ContainerName: "web", ContainerPort: proto.Int32(80)}}
		}), ecserr.InvalidParameterException, "loadBalancers[0]: give either targetGroupArn or loadBalancerName"},
		{"load balancer on an unknown container", create(func(r *berthv1.CreateTaskSetRequest) {
			r.LoadBalancers = []*berthv1.LoadBalancer{{LoadBalancerName: "lb", ContainerName: "db", ContainerPort: proto.Int32(80)}}
		}), ecserr.InvalidParameterException, `loadBalancers[0].containerName: web:1 has no container "db"`},
		{"load balancer on an unmapped port", create(func(r *berthv1.CreateTaskSetRequest) {
			r.LoadBalancers = []*berthv1.LoadBalancer{{LoadBalancerName: "lb", ContainerName: "web", ContainerPort: proto.Int32(81)}}
		}), ecserr.InvalidParameterException, "loadBalancers[0].containerPort"},
		{"service registry without ARN", create(func(r *berthv1.CreateTaskSetRequest) {
			r.ServiceRegistries = []*berthv1.ServiceRegistry{{}}
		}), ecserr.InvalidParameterException, "serviceRegistries[0].registryArn: is required"},
		{"reserved tag prefix", create(func(r *berthv1.CreateTaskSetRequest) { r.Tags = []*berthv1.Tag{{Key: "aws:x", Value: "y"}} }), ecserr.InvalidParameterException, "tags"},
		{"update without scale", func() error {
			_, err := s.UpdateTaskSet(ctx, &berthv1.UpdateTaskSetRequest{Service: "ext", TaskSet: ts.TaskSet.Id})
			return err
		}, ecserr.InvalidParameterException, "scale: is required"},
		{"update an unknown task set", func() error {
			_, err := s.UpdateTaskSet(ctx, &berthv1.UpdateTaskSetRequest{Service: "ext", TaskSet: "ecs-svc/1", Scale: percent(1)})
			return err
		}, ecserr.TaskSetNotFoundException, "The specified task set does not exist."},
		{"a task set ARN of another service", func() error {
			_, err := s.DeleteTaskSet(ctx, &berthv1.DeleteTaskSetRequest{Service: "ext", TaskSet: strings.Replace(ts.TaskSet.TaskSetArn, "/ext/", "/other/", 1)})
			return err
		}, ecserr.InvalidParameterException, "taskSet: "},
		{"delete without a task set", func() error {
			_, err := s.DeleteTaskSet(ctx, &berthv1.DeleteTaskSetRequest{Service: "ext"})
			return err
		}, ecserr.InvalidParameterException, "taskSet: is required"},
		{"CODE_DEPLOY", createService(func(r *berthv1.CreateServiceRequest) { r.DeploymentController.Type = "CODE_DEPLOY" }),
			ecserr.InvalidParameterException, "deploymentController.type: CODE_DEPLOY is not supported: berth has no CodeDeploy"},
		{"an unknown controller", createService(func(r *berthv1.CreateServiceRequest) { r.DeploymentController.Type = "BLUE" }),
			ecserr.InvalidParameterException, "deploymentController.type: must be ECS, CODE_DEPLOY or EXTERNAL"},
		{"an EXTERNAL service with a task definition", createService(func(r *berthv1.CreateServiceRequest) { r.TaskDefinition = "web" }),
			ecserr.InvalidParameterException, "taskDefinition: not allowed with the EXTERNAL deployment controller"},
		{"an EXTERNAL service with a network configuration", createService(func(r *berthv1.CreateServiceRequest) { r.NetworkConfiguration = &berthv1.NetworkConfiguration{} }),
			ecserr.InvalidParameterException, "networkConfiguration: not allowed"},
		{"an EXTERNAL DAEMON service", createService(func(r *berthv1.CreateServiceRequest) { r.SchedulingStrategy, r.DesiredCount = "DAEMON", nil }),
			ecserr.InvalidParameterException, "schedulingStrategy"},
		{"an EXTERNAL service with the circuit breaker", createService(func(r *berthv1.CreateServiceRequest) {
			r.DeploymentConfiguration = &berthv1.DeploymentConfiguration{DeploymentCircuitBreaker: &berthv1.DeploymentCircuitBreaker{Enable: true}}
		}), ecserr.InvalidParameterException, "deploymentCircuitBreaker"},
		{"UpdateService of an EXTERNAL service's task definition", func() error {
			_, err := s.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: "ext", TaskDefinition: "web"})
			return err
		}, ecserr.InvalidParameterException, "taskDefinition: cannot be updated on a service with the EXTERNAL deployment controller"},
		{"UpdateService forcing a new deployment of an EXTERNAL service", func() error {
			_, err := s.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: "ext", ForceNewDeployment: true})
			return err
		}, ecserr.InvalidParameterException, "forceNewDeployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.store.Revision()
			wantException(t, tt.call(), tt.exception, tt.want)
			if s.store.Revision() != before {
				t.Fatal("a rejected request changed the store")
			}
		})
	}

	// A deleted (DRAINING) task set can be neither scaled nor made PRIMARY.
	if err := deleteTaskSet(s, ts.TaskSet.Id, false); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateTaskSet(ctx, &berthv1.UpdateTaskSetRequest{Service: "ext", TaskSet: ts.TaskSet.Id, Scale: percent(50)})
	wantException(t, err, ecserr.InvalidParameterException, "is DRAINING")
	_, err = s.UpdateServicePrimaryTaskSet(ctx, &berthv1.UpdateServicePrimaryTaskSetRequest{Service: "ext", PrimaryTaskSet: ts.TaskSet.Id})
	wantException(t, err, ecserr.InvalidParameterException, "is DRAINING")
	// A DRAINING service takes no new task set.
	if _, err := s.DeleteService(ctx, &berthv1.DeleteServiceRequest{Service: "ext", Force: true}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTaskSet(ctx, &berthv1.CreateTaskSetRequest{Service: "ext", TaskDefinition: "web"})
	wantException(t, err, ecserr.ServiceNotActiveException, "")
}
