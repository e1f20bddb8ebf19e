package ecsapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

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
