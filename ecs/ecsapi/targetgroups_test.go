package ecsapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// A target group serves one container port: a second service naming it
// with another port is refused, on CreateService and UpdateService, as is
// a container or port the task definition lacks.
func TestSDKTargetGroupSharedByServices(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	c := cptest.Start(t, controlplane.Config{ServiceResync: 100 * time.Millisecond})
	client := sdk(t, c.CP, c.CP.AccessKey())
	ctx := context.Background()
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("two-ports"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("berth-test/app"), Memory: aws.Int32(64),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}, {ContainerPort: aws.Int32(8080)}}}}}); err != nil {
		t.Fatal(err)
	}
	tg := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/shared/0123456789abcdef"
	lb := func(name string, port int32) []types.LoadBalancer {
		return []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(name), ContainerPort: aws.Int32(port)}}
	}
	create := func(name string, lbs []types.LoadBalancer) error {
		_, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String("two-ports"),
			DesiredCount: aws.Int32(0), LoadBalancers: lbs})
		return err
	}
	if err := create("a", lb("web", 80)); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, "another port on the same target group", create("b", lb("web", 8080)),
		"The target group "+tg+" is already used by the service arn:aws:ecs:us-east-1:000000000000:service/default/a with container port 80")
	wantInvalid(t, "the field", create("b", lb("web", 8080)), "loadBalancers[0].containerPort")
	wantInvalid(t, "a container the task definition lacks", create("b", lb("api", 80)), "The container api does not exist in the task definition.")
	wantInvalid(t, "a port the container lacks", create("b", lb("web", 9090)), "The container web did not have a container port 9090 defined.")
	if err := create("b", lb("web", 80)); err != nil {
		t.Fatalf("the same port on the same target group: %v", err)
	}
	_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("b"), LoadBalancers: lb("web", 8080)})
	wantInvalid(t, "UpdateService to another port", err, "is already used by the service arn:aws:ecs:us-east-1:000000000000:service/default/a")
	// Once a is gone, b may move to the other port.
	if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Service: aws.String("a"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "a is INACTIVE", func() bool {
		_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("b"), LoadBalancers: lb("web", 8080)})
		return err == nil
	})
}

// A target group's target type must suit the task definition's network
// mode, as ECS checks on CreateService, UpdateService and CreateTaskSet: an awsvpc task is
// an ip target, a bridge or host task an instance target; ECS's own text
// on the wire. A target group berth's load balancing does not hold is not
// checked.
func TestSDKTargetTypeAgainstNetworkMode(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	c := cptest.Start(t, controlplane.Config{ServiceResync: 100 * time.Millisecond})
	client := sdk(t, c.CP, c.CP.AccessKey())
	elb := berthv1.NewElasticLoadBalancingV2Client(c.Dial(t))
	ctx := context.Background()
	group := func(name, targetType string) string {
		out, err := elb.CreateTargetGroup(c.Ctx, &berthv1.ELBCreateTargetGroupRequest{Name: name, Protocol: "HTTP", Port: proto.Int32(80), TargetType: targetType})
		if err != nil {
			t.Fatal(err)
		}
		return out.TargetGroups[0].TargetGroupArn
	}
	instanceTG, ipTG := group("inst", ""), group("ips", "ip")
	for family, mode := range map[string]types.NetworkMode{"bridge": types.NetworkModeBridge, "host": types.NetworkModeHost, "vpc": types.NetworkModeAwsvpc} {
		if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), NetworkMode: mode,
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("berth-test/app"), Memory: aws.Int32(64),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	lb := func(tg string) []types.LoadBalancer {
		return []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}}
	}
	create := func(name, taskDef, tg string) error {
		_, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String(name), TaskDefinition: aws.String(taskDef),
			DesiredCount: aws.Int32(0), LoadBalancers: lb(tg)})
		return err
	}
	refused := func(tg, targetType, mode string) string {
		return "The provided target group " + tg + " has target type " + targetType + ", which is incompatible with the " + mode + " network mode specified in the task definition."
	}
	wantText(t, "awsvpc behind an instance target group", create("a", "vpc", instanceTG), refused(instanceTG, "instance", "awsvpc"))
	wantText(t, "bridge behind an ip target group", create("a", "bridge", ipTG), refused(ipTG, "ip", "bridge"))
	wantText(t, "host behind an ip target group", create("a", "host", ipTG), refused(ipTG, "ip", "host"))
	for _, ok := range []struct{ name, taskDef, tg string }{
		{"vpc", "vpc", ipTG}, {"bridge", "bridge", instanceTG}, {"host", "host", instanceTG},
		{"elsewhere", "vpc", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/elsewhere/0123456789abcdef"},
	} {
		if err := create(ok.name, ok.taskDef, ok.tg); err != nil {
			t.Fatalf("service %s of %s behind %s: %v", ok.name, ok.taskDef, ok.tg, err)
		}
	}
	_, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("bridge"), LoadBalancers: lb(ipTG)})
	wantText(t, "UpdateService to an ip target group", err, refused(ipTG, "ip", "bridge"))
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("bridge"), TaskDefinition: aws.String("vpc")})
	wantText(t, "UpdateService to an awsvpc task definition behind its instance target group", err, refused(instanceTG, "instance", "awsvpc"))
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("bridge"), TaskDefinition: aws.String("vpc"), LoadBalancers: lb(ipTG)}); err != nil {
		t.Fatalf("UpdateService to awsvpc and an ip target group together: %v", err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("bridge"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatalf("UpdateService of the desired count only: %v", err)
	}

	// CreateTaskSet checks its own loadBalancers the same way.
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("external"), DesiredCount: aws.Int32(0),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}}); err != nil {
		t.Fatal(err)
	}
	taskSet := func(taskDef, tg string) error {
		_, err := client.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("default"), Service: aws.String("external"),
			TaskDefinition: aws.String(taskDef), LoadBalancers: lb(tg),
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-0123456789abcdef0"}}}})
		return err
	}
	wantText(t, "a task set of awsvpc behind an instance target group", taskSet("vpc", instanceTG), refused(instanceTG, "instance", "awsvpc"))
	if err := taskSet("vpc", ipTG); err != nil {
		t.Fatalf("a task set of awsvpc behind an ip target group: %v", err)
	}
}

// wantText fails t unless err is an InvalidParameterException whose message
// is text, word for word.
func wantText(t *testing.T, what string, err error, text string) {
	t.Helper()
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || invalid.ErrorMessage() != text {
		t.Fatalf("%s: %v (%T), want InvalidParameterException %q", what, err, err, text)
	}
}
