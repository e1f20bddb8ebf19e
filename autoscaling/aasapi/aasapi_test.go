package aasapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

const resource = "service/default/web"

func sdk(t *testing.T, cp *controlplane.ControlPlane) *aas.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return aas.New(aas.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:  httpClient,
	})
}

func apiErr(err error) (code, msg string) {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode(), api.ErrorMessage()
	}
	return "", ""
}

// webService registers a task definition of 256 CPU units and 512 MiB and
// creates service web with count tasks.
func webService(t *testing.T, c *cptest.Cluster, count int32) {
	t.Helper()
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "web", Cpu: "256", Memory: "512",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "web", Image: "web"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(count)}); err != nil {
		t.Fatal(err)
	}
}

func desired(t *testing.T, c *cptest.Cluster) int32 {
	d, err := c.ECS.DescribeServices(c.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
	if err != nil || len(d.GetServices()) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	return d.GetServices()[0].GetDesiredCount()
}

// Every operation through aws-sdk-go-v2's client, and the bad input.
func TestSDKOperations(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	c := cptest.Start(t, controlplane.Config{})
	webService(t, c, 1)
	client := sdk(t, c.CP)
	ctx := context.Background()
	ns, dim := types.ServiceNamespaceEcs, types.ScalableDimensionECSServiceDesiredCount

	// Bad input first: nothing registered.
	for _, tc := range []struct {
		name      string
		in        *aas.RegisterScalableTargetInput
		code, in2 string
	}{
		{"min > max", &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(5), MaxCapacity: aws.Int32(2)}, "ValidationException", "Minimum capacity cannot be greater than maximum capacity"},
		{"unknown service", &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("service/default/nope"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}, "ValidationException", "ECS service doesn't exist: service/default/nope"},
		{"bad resource id", &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String("web"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}, "ValidationException", "ResourceId"},
		{"no bounds", &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}, "ValidationException", "MinCapacity and MaxCapacity are required"},
		{"other namespace", &aas.RegisterScalableTargetInput{ServiceNamespace: types.ServiceNamespaceDynamodb, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(2)}, "ValidationException", "ServiceNamespace"},
	} {
		_, err := client.RegisterScalableTarget(ctx, tc.in)
		if code, msg := apiErr(err); code != tc.code || !strings.Contains(msg, tc.in2) {
			t.Errorf("%s: %v, want %s naming %q", tc.name, err, tc.code, tc.in2)
		}
	}
	tt := &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50),
		PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeECSServiceAverageCPUUtilization},
		ScaleOutCooldown:              aws.Int32(60), ScaleInCooldown: aws.Int32(120)}
	_, err := client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		PolicyType: types.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: tt})
	if code, msg := apiErr(err); code != "ObjectNotFoundException" || !strings.Contains(msg, "No scalable target registered") {
		t.Fatalf("PutScalingPolicy without a target: %v", err)
	}

	reg, err := client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(4)})
	if err != nil || !strings.HasPrefix(aws.ToString(reg.ScalableTargetARN), "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/") {
		t.Fatalf("RegisterScalableTarget: %v %v", reg, err)
	}
	// an update: only max changes; min above the new max is refused
	if _, err := client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MaxCapacity: aws.Int32(6)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(7)}); err == nil {
		t.Fatal("min 7 over max 6 accepted")
	}
	dt, err := client.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: ns})
	if err != nil || len(dt.ScalableTargets) != 1 {
		t.Fatalf("DescribeScalableTargets: %v %v", dt, err)
	}
	if st := dt.ScalableTargets[0]; aws.ToInt32(st.MinCapacity) != 1 || aws.ToInt32(st.MaxCapacity) != 6 || aws.ToString(st.ResourceId) != resource || st.CreationTime == nil {
		t.Fatalf("target %+v", st)
	}

	// Policies: bad ones, then a target tracking and a step scaling one.
	for _, tc := range []struct {
		name string
		cfg  *types.TargetTrackingScalingPolicyConfiguration
		want string
	}{
		{"target value out of range", &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(0), PredefinedMetricSpecification: tt.PredefinedMetricSpecification}, "TargetValue"},
		{"cpu target over 100%", &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(150), PredefinedMetricSpecification: tt.PredefinedMetricSpecification}, "TargetValue"},
		{"ALB without a label", &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(100), PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeALBRequestCountPerTarget}}, "ResourceLabel"},
		{"negative cooldown", &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50), PredefinedMetricSpecification: tt.PredefinedMetricSpecification, ScaleInCooldown: aws.Int32(-1)}, "ScaleInCooldown"},
	} {
		_, err := client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("bad"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
			PolicyType: types.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: tc.cfg})
		if code, msg := apiErr(err); code != "ValidationException" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %v, want ValidationException naming %s", tc.name, err, tc.want)
		}
	}
	put, err := client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("cpu"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		PolicyType: types.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: tt})
	if err != nil || len(put.Alarms) != 2 || !strings.Contains(aws.ToString(put.PolicyARN), ":scalingPolicy:") || !strings.Contains(aws.ToString(put.Alarms[0].AlarmName), "TargetTracking-service/default/web-AlarmHigh-") {
		t.Fatalf("PutScalingPolicy: %+v %v", put, err)
	}
	if _, err := client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("steps"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		PolicyType: types.PolicyTypeStepScaling, StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{AdjustmentType: types.AdjustmentTypeChangeInCapacity,
			StepAdjustments: []types.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(2)}}, Cooldown: aws.Int32(60)}}); err != nil {
		t.Fatal(err)
	}
	dp, err := client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, ResourceId: aws.String(resource)})
	if err != nil || len(dp.ScalingPolicies) != 2 {
		t.Fatalf("DescribeScalingPolicies: %v %v", dp, err)
	}
	got := dp.ScalingPolicies[0]
	if aws.ToString(got.PolicyName) != "cpu" || got.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType != types.MetricTypeECSServiceAverageCPUUtilization ||
		aws.ToInt32(got.TargetTrackingScalingPolicyConfiguration.ScaleInCooldown) != 120 || aws.ToString(got.PolicyARN) != aws.ToString(put.PolicyARN) {
		t.Fatalf("policy %+v", got)
	}
	page, err := client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, MaxResults: aws.Int32(1)})
	if err != nil || len(page.ScalingPolicies) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %v %v", page, err)
	}
	page, err = client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns, MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page.ScalingPolicies) != 1 || aws.ToString(page.ScalingPolicies[0].PolicyName) != "steps" {
		t.Fatalf("second page: %v %v", page, err)
	}
	if _, err := client.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("steps"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{PolicyName: aws.String("steps"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)})
	if code, _ := apiErr(err); code != "ObjectNotFoundException" {
		t.Fatalf("second delete: %v", err)
	}
	acts, err := client.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(resource)})
	if err != nil || len(acts.ScalingActivities) != 0 {
		t.Fatalf("activities: %v %v", acts, err)
	}
	if _, err := client.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource)})
	if code, _ := apiErr(err); code != "ObjectNotFoundException" {
		t.Fatalf("second deregister: %v", err)
	}
	if dp, _ := client.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: ns}); len(dp.ScalingPolicies) != 0 {
		t.Fatalf("the target's policies outlived it: %v", dp.ScalingPolicies)
	}
}

// CPU target tracking on a hollow agent's synthetic load: a service of one
// task at 90% of its CPU scales out to the target's max, and back to its
// min when the load drops to 10%, with the activities recorded.
func TestCPUTargetTrackingScalesOutAndIn(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 100 * time.Millisecond, AgentTTL: 10 * time.Second, AutoscalingPeriod: 250 * time.Millisecond})
	rt := hollow.New(hollow.Config{Load: hollow.Load{CPUPercent: 90, MemoryPercent: 30}})
	c.StartAgent(t, agent.Config{Runtime: rt})
	c.WaitInstances(t, 1)
	webService(t, c, 1)
	client := sdk(t, c.CP)
	ctx := context.Background()
	ns, dim := types.ServiceNamespaceEcs, types.ScalableDimensionECSServiceDesiredCount
	if _, err := client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{PolicyName: aws.String("cpu50"), ServiceNamespace: ns, ScalableDimension: dim, ResourceId: aws.String(resource),
		PolicyType: types.PolicyTypeTargetTrackingScaling, TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{TargetValue: aws.Float64(50),
			PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeECSServiceAverageCPUUtilization},
			ScaleOutCooldown:              aws.Int32(0), ScaleInCooldown: aws.Int32(0)}}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the service scaled out to 3", func() bool { return desired(t, c) == 3 })
	cptest.Eventually(t, "3 tasks running", func() bool {
		l, err := c.ECS.ListTasks(c.Ctx, &berthv1.ListTasksRequest{ServiceName: "web", DesiredStatus: "RUNNING"})
		return err == nil && len(l.GetTaskArns()) == 3
	})
	u := c.CP.TaskMetrics()
	if u.Len() == 0 {
		t.Fatal("no task metrics kept")
	}
	rt.SetLoad(hollow.Load{CPUPercent: 10, MemoryPercent: 30})
	cptest.Eventually(t, "the service scaled back in to 1", func() bool { return desired(t, c) == 1 })
	// the activity is recorded just after the desired count is written
	var acts *aas.DescribeScalingActivitiesOutput
	cptest.Eventually(t, "the scale-in's activity", func() bool {
		var err error
		acts, err = client.DescribeScalingActivities(ctx, &aas.DescribeScalingActivitiesInput{ServiceNamespace: ns, ResourceId: aws.String(resource)})
		return err == nil && len(acts.ScalingActivities) >= 2 && strings.Contains(aws.ToString(acts.ScalingActivities[0].Cause), "AlarmLow")
	})
	last, first := acts.ScalingActivities[0], acts.ScalingActivities[len(acts.ScalingActivities)-1]
	if last.StatusCode != types.ScalingActivityStatusCodeSuccessful || !strings.Contains(aws.ToString(first.Cause), "AlarmHigh") || aws.ToString(last.Details) == "" {
		for _, a := range acts.ScalingActivities {
			t.Logf("%s %s: %s (%s)", a.StatusCode, aws.ToString(a.Details), aws.ToString(a.Cause), aws.ToString(a.StatusMessage))
		}
		t.Fatal("want the newest activity a successful scale-in, the oldest a scale-out")
	}
}
