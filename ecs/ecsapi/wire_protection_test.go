package ecsapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// wantInvalid checks that err is ECS's InvalidParameterException saying
// substr.
func wantInvalid(t *testing.T, what string, err error, substr string) {
	t.Helper()
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), substr) {
		t.Fatalf("%s: %v (%T), want InvalidParameterException saying %q", what, err, err, substr)
	}
}

// Task scale-in protection, the service deployment history and the
// service members berth stores, through aws-sdk-go-v2.
func TestSDKTaskProtectionAndServiceHistory(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond,
		HealthGrace: 300 * time.Millisecond})
	c.StartAgent(t, agent.Config{AvailabilityZone: "us-east-1a", InstanceType: "t3.large"})
	c.WaitInstances(t, 1)
	client := sdk(t, c.CP, c.CP.AccessKey())
	ctx := context.Background()
	_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("berth-test/app"),
			Memory: aws.Int32(128), Command: []string{"sleep"},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), Name: aws.String("http")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	tg := "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
	created, err := client.CreateService(ctx, &ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String("web"),
		DesiredCount: aws.Int32(2), Role: aws.String("ecsServiceRole"),
		LoadBalancers: []types.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}},
		ServiceRegistries: []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1"),
			ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}},
		DeploymentConfiguration: &types.DeploymentConfiguration{Alarms: &types.DeploymentAlarms{AlarmNames: []string{"high-cpu"}, Enable: true, Rollback: true},
			Strategy: types.DeploymentStrategyRolling},
		ServiceConnectConfiguration: &types.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("prod"),
			Services: []types.ServiceConnectService{{PortName: aws.String("http")}}},
		AvailabilityZoneRebalancing: types.AvailabilityZoneRebalancingEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := created.Service
	if len(svc.LoadBalancers) != 1 || aws.ToString(svc.LoadBalancers[0].TargetGroupArn) != tg || len(svc.ServiceRegistries) != 1 ||
		aws.ToString(svc.RoleArn) != "arn:aws:iam::000000000000:role/ecsServiceRole" ||
		svc.DeploymentConfiguration.Alarms == nil || svc.DeploymentConfiguration.Alarms.AlarmNames[0] != "high-cpu" ||
		aws.ToString(svc.Deployments[0].ServiceConnectConfiguration.Namespace) != "prod" ||
		svc.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingEnabled ||
		!strings.Contains(aws.ToString(svc.CurrentServiceDeployment), ":service-deployment/default/web/") || len(svc.CurrentServiceRevisions) != 1 {
		t.Fatalf("the service keeps what it was created with: %+v", svc)
	}

	var arns []string
	cptest.Eventually(t, "two tasks running", func() bool {
		list, err := client.ListTasks(ctx, &ecs.ListTasksInput{ServiceName: aws.String("web")})
		arns = list.TaskArns
		d, _ := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"web"}})
		return err == nil && len(arns) == 2 && d.Services[0].RunningCount == 2
	})
	before := time.Now()
	upd, err := client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("default"), Tasks: arns[:1], ProtectionEnabled: true})
	if err != nil || len(upd.ProtectedTasks) != 1 || len(upd.Failures) != 0 {
		t.Fatalf("protect: %+v, %v", upd, err)
	}
	if pt := upd.ProtectedTasks[0]; !pt.ProtectionEnabled || pt.ExpirationDate.Before(before.Add(119*time.Minute)) || pt.ExpirationDate.After(time.Now().Add(121*time.Minute)) {
		t.Fatalf("protected for 120 minutes by default: %+v", pt)
	}
	got, err := client.GetTaskProtection(ctx, &ecs.GetTaskProtectionInput{Cluster: aws.String("default"), Tasks: arns})
	if err != nil || len(got.ProtectedTasks) != 2 || !got.ProtectedTasks[0].ProtectionEnabled || got.ProtectedTasks[1].ProtectionEnabled ||
		got.ProtectedTasks[1].ExpirationDate != nil {
		t.Fatalf("get protection: %+v, %v", got, err)
	}
	upd, err = client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("default"), Tasks: arns[:1],
		ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(2880)})
	if err != nil || upd.ProtectedTasks[0].ExpirationDate.Before(before.Add(47*time.Hour)) {
		t.Fatalf("protect for 48 hours: %+v, %v", upd, err)
	}

	// A standalone task and a missing one are failures; the limits are
	// InvalidParameterException.
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String("web")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("run: %+v, %v", run, err)
	}
	upd, err = client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("default"),
		Tasks: []string{aws.ToString(run.Tasks[0].TaskArn), "0123456789abcdef0123456789abcdef"}, ProtectionEnabled: true})
	if err != nil || len(upd.ProtectedTasks) != 0 || len(upd.Failures) != 2 ||
		aws.ToString(upd.Failures[0].Reason) != "TASK_NOT_VALID" || aws.ToString(upd.Failures[1].Reason) != "MISSING" {
		t.Fatalf("a standalone and a missing task: %+v, %v", upd, err)
	}
	_, err = client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("default"), Tasks: arns[:1],
		ProtectionEnabled: true, ExpiresInMinutes: aws.Int32(2881)})
	wantInvalid(t, "48 hours and a minute", err, "expiresInMinutes")
	_, err = client.UpdateTaskProtection(ctx, &ecs.UpdateTaskProtectionInput{Cluster: aws.String("nope"), Tasks: arns[:1], ProtectionEnabled: true})
	var noCluster *types.ClusterNotFoundException
	if !errors.As(err, &noCluster) {
		t.Fatalf("an unknown cluster: %v (%T)", err, err)
	}

	// The history: one service deployment, its revision with what the
	// service runs.
	cptest.Eventually(t, "the first deployment SUCCESSFUL", func() bool {
		list, err := client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
		return err == nil && len(list.ServiceDeployments) == 1 && list.ServiceDeployments[0].Status == types.ServiceDeploymentStatusSuccessful
	})
	list, _ := client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web")})
	sd, err := client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn), "arn:aws:ecs:us-east-1:000000000000:service-deployment/default/web/NOPE0000-000000000000"}})
	if err != nil || len(sd.ServiceDeployments) != 1 || len(sd.Failures) != 1 || aws.ToString(sd.Failures[0].Reason) != "MISSING" ||
		sd.ServiceDeployments[0].Alarms == nil || sd.ServiceDeployments[0].Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete &&
		sd.ServiceDeployments[0].Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring {
		t.Fatalf("describe service deployments: %+v, %v", sd, err)
	}
	rev, err := client.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{
		ServiceRevisionArns: []string{aws.ToString(list.ServiceDeployments[0].TargetServiceRevisionArn)}})
	if err != nil || len(rev.ServiceRevisions) != 1 || len(rev.ServiceRevisions[0].LoadBalancers) != 1 ||
		aws.ToString(rev.ServiceRevisions[0].ServiceConnectConfiguration.Namespace) != "prod" ||
		aws.ToString(rev.ServiceRevisions[0].ContainerImages[0].Image) != "berth-test/app" {
		t.Fatalf("describe service revisions: %+v, %v", rev, err)
	}
	_, err = client.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{"arn:aws:ecs:us-east-1:000000000000:service/default/web"}})
	wantInvalid(t, "a service ARN as a revision ARN", err, "serviceRevisionArns[0]")
	_, err = client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"), Status: []types.ServiceDeploymentStatus{"DONE"}})
	wantInvalid(t, "an unknown status", err, "status[0]")

	// Removing the load balancers (an empty list) is a new deployment;
	// members berth has no service for are refused by name.
	u, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), LoadBalancers: []types.LoadBalancer{}})
	if err != nil || len(u.Service.LoadBalancers) != 0 || len(u.Service.Deployments) != 2 {
		t.Fatalf("remove the load balancers: %+v, %v", u, err)
	}
	list, _ = client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Service: aws.String("web"), MaxResults: aws.Int32(1)})
	if len(list.ServiceDeployments) != 1 || list.NextToken == nil || list.ServiceDeployments[0].Status != types.ServiceDeploymentStatusInProgress {
		t.Fatalf("the newest first, a page of one: %+v", list)
	}
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), VolumeConfigurations: []types.ServiceVolumeConfiguration{
		{Name: aws.String("data"), ManagedEBSVolume: &types.ServiceManagedEBSVolumeConfiguration{RoleArn: aws.String("arn:aws:iam::000000000000:role/ebs")}}}})
	wantInvalid(t, "EBS volumes", err, "volumeConfigurations: not supported")
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Service: aws.String("web"), LoadBalancers: []types.LoadBalancer{
		{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}})
	wantInvalid(t, "a port the container does not map", err, "The container web did not have a container port 8080 defined.")
}
