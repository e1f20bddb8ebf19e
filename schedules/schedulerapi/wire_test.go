package schedulerapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/lambda/invoke"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 7, 12, 0, 30, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type lambda struct {
	mu    sync.Mutex
	calls []invoke.EventRequest
}

func (l *lambda) CheckPermission(ctx context.Context, req invoke.EventRequest) error { return nil }

func (l *lambda) InvokeEvent(ctx context.Context, req invoke.EventRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, req)
	return nil
}

func (l *lambda) Calls() []invoke.EventRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]invoke.EventRequest(nil), l.calls...)
}

func (l *lambda) count(source string) int {
	n := 0
	for _, c := range l.Calls() {
		if c.SourceArn == source {
			n++
		}
	}
	return n
}

func start(t *testing.T, cfg controlplane.Config) *cptest.Cluster {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	cfg.EventsTick = 20 * time.Millisecond
	return cptest.Start(t, cfg)
}

func sdk(t *testing.T, cp *controlplane.ControlPlane) *scheduler.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := cp.AccessKey()
	return scheduler.New(scheduler.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

const (
	fn   = "arn:aws:lambda:us-east-1:000000000000:function:cron"
	role = "arn:aws:iam::000000000000:role/scheduler"
)

var off = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}

// Schedules and groups through aws-sdk-go-v2's Scheduler client: every
// operation and Scheduler's errors.
func TestSDKSchedules(t *testing.T) {
	c := start(t, controlplane.Config{EventsLambda: &lambda{}})
	client := sdk(t, c.CP)
	ctx := context.Background()

	g, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("jobs")})
	if err != nil || aws.ToString(g.ScheduleGroupArn) != "arn:aws:scheduler:us-east-1:000000000000:schedule-group/jobs" {
		t.Fatalf("CreateScheduleGroup %v %v", g, err)
	}
	if _, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("jobs")}); code(err) != "ConflictException" {
		t.Fatalf("a second group jobs: %v", err)
	}
	lg, err := client.ListScheduleGroups(ctx, &scheduler.ListScheduleGroupsInput{})
	if err != nil || len(lg.ScheduleGroups) != 2 || aws.ToString(lg.ScheduleGroups[0].Name) != "default" || aws.ToString(lg.ScheduleGroups[1].Name) != "jobs" {
		t.Fatalf("ListScheduleGroups %+v %v", lg, err)
	}
	for i := range 3 {
		_, err := client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(fmt.Sprintf("nightly-%d", i)), GroupName: aws.String("jobs"),
			ScheduleExpression: aws.String("cron(0 2 * * ? *)"), ScheduleExpressionTimezone: aws.String("Europe/Paris"),
			FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(15)},
			Target:             &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role), Input: aws.String(`{"job":"backup"}`), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cs, err := client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("hourly"), ScheduleExpression: aws.String("rate(1 hour)"),
		FlexibleTimeWindow: off, Target: &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role)}})
	if err != nil || aws.ToString(cs.ScheduleArn) != "arn:aws:scheduler:us-east-1:000000000000:schedule/default/hourly" {
		t.Fatalf("CreateSchedule %v %v", cs, err)
	}
	gs, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly-1"), GroupName: aws.String("jobs")})
	if err != nil || aws.ToString(gs.ScheduleExpressionTimezone) != "Europe/Paris" || gs.State != types.ScheduleStateEnabled ||
		aws.ToInt32(gs.FlexibleTimeWindow.MaximumWindowInMinutes) != 15 || aws.ToString(gs.Target.Input) != `{"job":"backup"}` || gs.CreationDate == nil ||
		gs.ActionAfterCompletion != types.ActionAfterCompletionNone {
		t.Fatalf("GetSchedule %+v %v", gs, err)
	}
	if _, err := client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: aws.String("nightly-1"), GroupName: aws.String("jobs"),
		ScheduleExpression: aws.String("cron(30 3 ? * MON-FRI *)"), State: types.ScheduleStateDisabled, FlexibleTimeWindow: off,
		Target: &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role)}}); err != nil {
		t.Fatal(err)
	}
	if gs, _ := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly-1"), GroupName: aws.String("jobs")}); gs.State != types.ScheduleStateDisabled ||
		aws.ToString(gs.ScheduleExpression) != "cron(30 3 ? * MON-FRI *)" {
		t.Fatalf("after UpdateSchedule %+v", gs)
	}
	var names []string
	var token *string
	for {
		l, err := client.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String("jobs"), NamePrefix: aws.String("nightly"), MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Schedules {
			names = append(names, aws.ToString(s.Name))
		}
		if token = l.NextToken; token == nil {
			break
		}
	}
	if strings.Join(names, ",") != "nightly-0,nightly-1,nightly-2" {
		t.Fatalf("ListSchedules %v", names)
	}
	if l, err := client.ListSchedules(ctx, &scheduler.ListSchedulesInput{State: types.ScheduleStateDisabled}); err != nil || len(l.Schedules) != 1 {
		t.Fatalf("ListSchedules by state %+v %v", l, err)
	}
	if _, err := client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("hourly")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("hourly")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("GetSchedule of a deleted schedule: %v", err)
	}
	if _, err := client.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("jobs")}); err != nil {
		t.Fatal(err)
	}
	if l, _ := client.ListSchedules(ctx, &scheduler.ListSchedulesInput{}); len(l.Schedules) != 0 {
		t.Fatalf("the group's schedules outlived it: %+v", l.Schedules)
	}

	// Bad input: Scheduler's exceptions and texts (berth's words, which name
	// the member, are in the body beside them), or the member named.
	target := &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role)}
	bad := []struct {
		in   *scheduler.CreateScheduleInput
		code string
		text string
	}{
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("cron(0 2 * * * *)"), FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid Schedule Expression cron(0 2 * * * *)."},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(2 minute)"), FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid Schedule Expression rate(2 minute)."},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("at(2026-02-30T10:00:00)"), FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid Schedule Expression at(2026-02-30T10:00:00)."},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), ScheduleExpressionTimezone: aws.String("Mars/Olympus"), FlexibleTimeWindow: off, Target: target}, "ValidationException", "Invalid ScheduleExpressionTimezone Mars/Olympus."},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible}, Target: target}, "ValidationException", "MaximumWindowInMinutes"},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), GroupName: aws.String("nope"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target}, "ResourceNotFoundException", "Schedule group nope does not exist."},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
			Target: &types.Target{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q"), RoleArn: aws.String(role)}}, "ValidationException", "Target.Arn"},
		{&scheduler.CreateScheduleInput{Name: aws.String("x"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
			StartDate: aws.Time(time.Unix(2000, 0)), EndDate: aws.Time(time.Unix(1000, 0)), Target: target}, "ValidationException", "EndDate"},
	}
	for i, b := range bad {
		_, err := client.CreateSchedule(ctx, b.in)
		if code(err) != b.code || !strings.Contains(err.Error(), b.text) {
			t.Errorf("bad %d: %s %v; want %s with %q", i, code(err), err, b.code, b.text)
		}
	}
	if _, err := client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("dup"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("dup"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off, Target: target}); code(err) != "ConflictException" ||
		!strings.HasSuffix(err.Error(), ": Schedule dup already exists.") {
		t.Errorf("a second schedule dup: %v", err)
	}
	if _, err := client.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("default")}); code(err) != "ValidationException" {
		t.Errorf("delete the default group: %v", err)
	}
}

// Schedules fire their targets once per slot on the injected clock: rate,
// at with ActionAfterCompletion DELETE, cron in a time zone, StartDate,
// and a FLEXIBLE window.
func TestSchedulesFire(t *testing.T) {
	fns := &lambda{}
	clk := newClock()
	c := start(t, controlplane.Config{EventsLambda: fns, EventsClock: clk.Now})
	client := sdk(t, c.CP)
	ctx := context.Background()
	create := func(name, expr string, mod func(*scheduler.CreateScheduleInput)) string {
		t.Helper()
		in := &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr), FlexibleTimeWindow: off,
			Target: &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role), Input: aws.String(`{"schedule":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>"}`)}}
		if mod != nil {
			mod(in)
		}
		out, err := client.CreateSchedule(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ScheduleArn)
	}
	every := create("every-minute", "rate(1 minute)", nil)
	once := create("once", "at(2026-12-07T12:03:00)", func(in *scheduler.CreateScheduleInput) { in.ActionAfterCompletion = types.ActionAfterCompletionDelete })
	// 13:05 in Paris is 12:05 UTC.
	paris := create("paris", "cron(5 13 * * ? *)", func(in *scheduler.CreateScheduleInput) { in.ScheduleExpressionTimezone = aws.String("Europe/Paris") })
	later := create("later", "rate(1 minute)", func(in *scheduler.CreateScheduleInput) { in.StartDate = aws.Time(clk.Now().Add(time.Hour)) })
	flexible := create("flexible", "cron(0 13 * * ? *)", func(in *scheduler.CreateScheduleInput) {
		in.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(10)}
	})

	clk.Advance(time.Minute) // 12:01:30
	cptest.Eventually(t, "the first slot", func() bool { return fns.count(every) == 1 })
	call := fns.Calls()[0]
	if call.Principal != "scheduler.amazonaws.com" || string(call.Payload) != `{"schedule":"`+every+`","at":"2026-12-07T12:01:30Z"}` {
		t.Fatalf("invocation %+v %s", call, call.Payload)
	}
	clk.Advance(5 * time.Minute) // 12:06:30: four minutes missed, at and paris due
	cptest.Eventually(t, "missed slots once, at and cron", func() bool {
		return fns.count(every) == 2 && fns.count(once) == 1 && fns.count(paris) == 1
	})
	cptest.Consistently(t, "each slot once", 200*time.Millisecond, func() bool {
		return fns.count(every) == 2 && fns.count(once) == 1 && fns.count(paris) == 1 && fns.count(later) == 0
	})
	if _, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("once")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("an at() schedule with ActionAfterCompletion DELETE after it fired: %v", err)
	}
	// 13:00 with a 10-minute window: delivered within it, not before 13:00.
	// A rate schedule's first slot is one period after its StartDate.
	clk.Advance(54 * time.Minute) // 13:00:30
	cptest.Consistently(t, "nothing at StartDate itself", 200*time.Millisecond, func() bool { return fns.count(later) == 0 })
	clk.Advance(10 * time.Minute) // 13:10:30
	cptest.Eventually(t, "after StartDate, and the flexible slot within its window", func() bool {
		return fns.count(later) == 1 && fns.count(flexible) == 1
	})
}

// A schedule with an ECS target starts a task on a hollow agent.
func TestScheduleRunsECSTask(t *testing.T) {
	clk := newClock()
	c := start(t, controlplane.Config{EventsClock: clk.Now})
	c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	client := sdk(t, c.CP)
	ctx := context.Background()
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "report",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "report", Image: "report", Memory: proto.Int32(128)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("report"), ScheduleExpression: aws.String("rate(1 hour)"), FlexibleTimeWindow: off,
		Target: &types.Target{Arn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/default"), RoleArn: aws.String(role),
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/report:1"), TaskCount: aws.Int32(2)}}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	cptest.Eventually(t, "two tasks started by the schedule", func() bool {
		l, err := c.ECS.ListTasks(c.Ctx, &berthv1.ListTasksRequest{StartedBy: "scheduler/default/report"})
		return err == nil && len(l.GetTaskArns()) == 2
	})
}

// A slot fires once across a restart; slots missed while down fire once.
func TestScheduleRestart(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	clk := newClock()
	fns := &lambda{}
	run := func() (*controlplane.ControlPlane, func()) {
		cp, err := controlplane.Start(context.Background(), controlplane.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
			EventsLambda: fns, EventsClock: clk.Now, EventsTick: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return cp, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cp.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	cp, stop := run()
	out, err := sdk(t, cp).CreateSchedule(context.Background(), &scheduler.CreateScheduleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)"), FlexibleTimeWindow: off,
		Target: &types.Target{Arn: aws.String(fn), RoleArn: aws.String(role)}})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	arn := aws.ToString(out.ScheduleArn)
	clk.Advance(time.Minute)
	cptest.Eventually(t, "the first slot", func() bool { return fns.count(arn) == 1 })
	stop()
	_, stop = run()
	cptest.Consistently(t, "no slot fires again after a restart", 200*time.Millisecond, func() bool { return fns.count(arn) == 1 })
	stop()
	clk.Advance(30 * time.Minute)
	_, stop = run()
	defer stop()
	cptest.Eventually(t, "the missed slots", func() bool { return fns.count(arn) == 2 })
	cptest.Consistently(t, "fire once", 200*time.Millisecond, func() bool { return fns.count(arn) == 2 })
}
