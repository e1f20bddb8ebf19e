package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
	"github.com/berth/berth/lambda/invoke"
)

// testClock is the events' clock: the wall clock moved on by what the test
// skipped.
type testClock struct {
	mu   sync.Mutex
	skip time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skip)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.skip += d
	c.mu.Unlock()
}

// fnLines keeps the lines functions print.
type fnLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *fnLines) add(_ invoke.Function, _ string, line []byte) {
	l.mu.Lock()
	l.lines = append(l.lines, string(line))
	l.mu.Unlock()
}

func (l *fnLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// awsClients are the SDK's clients of the stack's front door.
type awsClients struct {
	s3        *s3.Client
	lambda    *lambda.Client
	events    *eventbridge.Client
	scheduler *scheduler.Client
}

func newAWSClients(t *testing.T, c *cptest.Cluster) awsClients {
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	cfg := aws.Config{Region: "us-east-1", HTTPClient: hc, BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")}
	return awsClients{
		s3:        s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		lambda:    lambda.NewFromConfig(cfg),
		events:    eventbridge.NewFromConfig(cfg),
		scheduler: scheduler.NewFromConfig(cfg),
	}
}

// TestScheduleInvokesFunctionOnDocker is the seed's cron example: an
// EventBridge Scheduler schedule, rate(1 minute), and an EventBridge rule
// with the same ScheduleExpression each invoke a real aws-lambda-go
// function, built FROM scratch and run on Docker, when the events' clock
// passes a minute; the function's own log lines show each invocation.
func TestScheduleInvokesFunctionOnDocker(t *testing.T) {
	t.Parallel()
	const cluster = "default"
	img := "berth-e2e-cron-fn:1"
	testimage.Tag(t, testimage.Lambda(t), img)
	clock := &testClock{}
	lines := &fnLines{}
	s := newStack(t, controlplane.Config{EventsClock: clock.Now, EventsTick: 100 * time.Millisecond,
		Lambda: controlplane.LambdaRunnerConfig{Cluster: cluster, Log: lines.add}})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	api := newAWSClients(t, s.Cluster)
	ctx := context.Background()

	fn, err := api.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("cron-fn"),
		PackageType: lambdatypes.PackageTypeImage, Code: &lambdatypes.FunctionCode{ImageUri: aws.String(img)},
		Role: aws.String("arn:aws:iam::000000000000:role/cron-fn"), Timeout: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the function Active", func() bool {
		out, err := api.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("cron-fn")})
		return err == nil && out.Configuration.State == lambdatypes.StateActive
	})
	for i, principal := range []string{"scheduler.amazonaws.com", "events.amazonaws.com"} {
		if _, err := api.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("cron-fn"),
			StatementId: aws.String([]string{"scheduler", "events"}[i]), Action: aws.String("lambda:InvokeFunction"),
			Principal: aws.String(principal)}); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := api.scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("every-minute"),
		ScheduleExpression: aws.String("rate(1 minute)"), FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target: &schedtypes.Target{Arn: fn.FunctionArn, RoleArn: aws.String("arn:aws:iam::000000000000:role/scheduler"),
			Input: aws.String(`{"op":"echo","value":"<aws.scheduler.scheduled-time>"}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("hourly-job"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
		t.Fatal(err)
	}
	if out, err := api.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("hourly-job"),
		Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: fn.FunctionArn, Input: aws.String(`{"op":"env"}`)}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}

	// A minute passes on the events' clock; the function runs for each (the
	// first start of its environment may take a while on a loaded machine).
	clock.Advance(61 * time.Second)
	pollWithin(t, 90*time.Second, "the function's line for the schedule and for the rule", func() [2]int {
		return [2]int{lines.count("lambdafn handling echo"), lines.count("lambdafn handling env")}
	}, func(n [2]int) bool { return n[0] >= 1 && n[1] >= 1 })
}

// TestS3EventBridgeRunsTaskOnDocker: an object created in a bucket with
// EventBridge on matches a rule on "Object Created", whose ECS target runs a
// task with the object's key in its container's environment (an
// InputTransformer making containerOverrides); the task's output shows it.
func TestS3EventBridgeRunsTaskOnDocker(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{EventsTick: 100 * time.Millisecond})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	api := newAWSClients(t, s.Cluster)
	ctx := context.Background()

	const bucket = "e2e-s3-eventbridge-uploads"
	if _, err := api.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.s3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	taskDef := s.register(t, &berthv1.RegisterTaskDefinitionRequest{
		Family: "e2e-s3-processor",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "processor", Image: img, Memory: new(int32(32)),
			Command: []string{"inside", "BUCKET", "KEY"}, DockerLabels: dockertest.Labels(nil)}},
	})
	if _, err := api.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("uploads"),
		EventPattern: aws.String(`{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["` + bucket + `"]},"object":{"key":[{"prefix":"incoming/"}]}}}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := api.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("uploads"), Targets: []ebtypes.Target{{
		Id: aws.String("processor"), Arn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/default"),
		RoleArn:       aws.String("arn:aws:iam::000000000000:role/events-ecs"),
		EcsParameters: &ebtypes.EcsParameters{TaskDefinitionArn: aws.String(taskDef), TaskCount: aws.Int32(1)},
		InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
			InputTemplate: aws.String(`{"containerOverrides":[{"name":"processor","environment":[{"name":"BUCKET","value":<bucket>},{"name":"KEY","value":<key>}]}]}`),
		},
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}

	// An object outside the prefix starts nothing; the one inside starts the task.
	for _, key := range []string{"other/skip.txt", "incoming/photo-1.png"} {
		if _, err := api.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("pixels")}); err != nil {
			t.Fatal(err)
		}
	}
	tasks := pollWithin(t, 60*time.Second, "a task started by the rule", func() []string {
		l, err := s.ECS.ListTasks(s.Ctx, &berthv1.ListTasksRequest{StartedBy: "events-rule/uploads", DesiredStatus: "STOPPED"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.ECS.ListTasks(s.Ctx, &berthv1.ListTasksRequest{StartedBy: "events-rule/uploads"})
		if err != nil {
			t.Fatal(err)
		}
		return append(l.GetTaskArns(), r.GetTaskArns()...)
	}, func(a []string) bool { return len(a) > 0 })
	if len(tasks) != 1 {
		t.Fatalf("tasks started by the rule: %v; want one", tasks)
	}
	s.waitStatus(t, tasks[0], "RUNNING")
	// testapp's inside prints the variables it was given, one JSON line.
	pollWithin(t, 60*time.Second, "the task's report of its environment", func() string {
		logs, err := s.taskLogs(s.Ctx, &berthv1.GetTaskLogsRequest{Task: tasks[0], Container: "processor"})
		if err != nil {
			t.Fatalf("GetTaskLogs: %v", err)
		}
		return logs["processor/stdout"]
	}, func(out string) bool {
		return strings.Contains(out, `"KEY":"incoming/photo-1.png"`) && strings.Contains(out, `"BUCKET":"`+bucket+`"`)
	})
	s.stopTask(t, tasks[0], "done")
	s.waitStatus(t, tasks[0], "STOPPED")
}
