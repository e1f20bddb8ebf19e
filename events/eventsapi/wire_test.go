package eventsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func start(t *testing.T, cfg controlplane.Config) *cptest.Cluster {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	if cfg.EventsTick == 0 {
		cfg.EventsTick = 20 * time.Millisecond
	}
	return cptest.Start(t, cfg)
}

// Rules and targets through aws-sdk-go-v2's EventBridge client: every
// operation and EventBridge's errors.
func TestSDKRulesAndTargets(t *testing.T) {
	fns := &lambda{functions: map[string]bool{fn: true}}
	c := start(t, controlplane.Config{EventsLambda: fns})
	client := sdk(t, c.CP)
	ctx := context.Background()

	put, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("images"), EventPattern: aws.String(`{"source":["my.app"]}`), Description: aws.String("new images")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.RuleArn) != "arn:aws:events:us-east-1:000000000000:rule/images" {
		t.Fatalf("RuleArn %s", aws.ToString(put.RuleArn))
	}
	for i := range 3 {
		if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(fmt.Sprintf("tick-%d", i)), ScheduleExpression: aws.String("rate(5 minutes)"), State: types.RuleStateDisabled}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("images")})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != types.RuleStateEnabled || aws.ToString(d.EventPattern) != `{"source":["my.app"]}` || aws.ToString(d.EventBusName) != "default" || aws.ToString(d.Description) != "new images" {
		t.Fatalf("DescribeRule %+v", d)
	}
	// ListRules: NamePrefix and paging.
	var names []string
	var token *string
	for {
		l, err := client.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("tick-"), Limit: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if token = l.NextToken; token == nil {
			break
		}
	}
	if strings.Join(names, ",") != "tick-0,tick-1,tick-2" {
		t.Fatalf("ListRules %v", names)
	}
	if _, err := client.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("tick-0")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("images")}); err != nil {
		t.Fatal(err)
	}
	if d, _ := client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("images")}); d.State != types.RuleStateDisabled {
		t.Fatalf("after DisableRule: %s", d.State)
	}

	// Targets.
	pt, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("images"), Targets: []types.Target{
		{Id: aws.String("fn"), Arn: aws.String(fn), InputPath: aws.String("$.detail"), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(3)}},
		{Id: aws.String("task"), Arn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/default"),
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"), TaskCount: aws.Int32(2)}},
	}})
	if err != nil || pt.FailedEntryCount != 0 {
		t.Fatalf("PutTargets %+v %v", pt, err)
	}
	lt, err := client.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("images")})
	if err != nil || len(lt.Targets) != 2 || aws.ToString(lt.Targets[0].InputPath) != "$.detail" || aws.ToInt32(lt.Targets[1].EcsParameters.TaskCount) != 2 {
		t.Fatalf("ListTargetsByRule %+v %v", lt, err)
	}
	_, err = client.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("images")})
	if code(err) != "ValidationException" || message(err) != "Rule can't be deleted since it has targets." {
		t.Fatalf("DeleteRule with targets: %s %v", code(err), err)
	}
	if _, err := client.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("images"), Ids: []string{"fn", "task"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("images")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("images")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("DescribeRule of a deleted rule: %v", err)
	}

	// TestEventPattern.
	ev := `{"id":"1","account":"000000000000","source":"my.app","time":"2026-12-07T12:00:00Z","region":"us-east-1","resources":[],"detail-type":"x","detail":{"size":5}}`
	tp, err := client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"detail":{"size":[{"numeric":[">",4]}]}}`), Event: aws.String(ev)})
	if err != nil || !tp.Result {
		t.Fatalf("TestEventPattern %+v %v", tp, err)
	}
	tp, err = client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"detail":{"size":[{"numeric":[">",5]}]}}`), Event: aws.String(ev)})
	if err != nil || tp.Result {
		t.Fatalf("TestEventPattern (no match) %+v %v", tp, err)
	}
}

// Bad input: each gets EventBridge's exception, the field named, and
// nothing is stored.
func TestSDKBadInput(t *testing.T) {
	fns := &lambda{functions: map[string]bool{fn: true}}
	c := start(t, controlplane.Config{EventsLambda: fns})
	client := sdk(t, c.CP)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
		code string
		text string
	}{
		{"pattern", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"detail":{"state":[{"prefixx":"a"}]}}`)})
			return err
		}, "InvalidEventPatternException", "detail.state[0].prefixx"},
		{"pattern not JSON", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{`)})
			return err
		}, "InvalidEventPatternException", "not valid JSON"},
		{"rate", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), ScheduleExpression: aws.String("rate(1 minutes)")})
			return err
		}, "ValidationException", "Parameter ScheduleExpression is not valid."},
		{"cron", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), ScheduleExpression: aws.String("cron(0 10 * * * *)")})
			return err
		}, "ValidationException", "Parameter ScheduleExpression is not valid."},
		{"neither", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r")})
			return err
		}, "ValidationException", "EventPattern or ScheduleExpression"},
		{"name", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("a b"), ScheduleExpression: aws.String("rate(1 day)")})
			return err
		}, "ValidationException", "regular expression"},
		{"other bus", func() error {
			_, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("mine"), ScheduleExpression: aws.String("rate(1 day)")})
			return err
		}, "ResourceNotFoundException", "Event bus mine does not exist."},
		{"targets of a missing rule", func() error {
			_, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("none"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(fn)}}})
			return err
		}, "ResourceNotFoundException", "Rule none does not exist"},
		{"entries over 256 KB", func() error {
			big := `{"x":"` + strings.Repeat("a", 140*1024) + `"}`
			_, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
				{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(big)},
				{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(big)},
			}})
			return err
		}, "ValidationException", "Total size of the entries in the request is over the limit."},
	}
	for _, tc := range cases {
		err := tc.call()
		if code(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %s %v; want %s with %q", tc.name, code(err), err, tc.code, tc.text)
		}
	}
	// A rule to put bad targets on.
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ok"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	targets := []struct {
		t    types.Target
		code string
		text string
	}{
		{types.Target{Id: aws.String("a"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:missing")}, "ResourceNotFoundException", "Function not found"},
		{types.Target{Id: aws.String("a"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:q")}, "ValidationException", "Targets[0].Arn"},
		{types.Target{Id: aws.String("a"), Arn: aws.String(fn), Input: aws.String("{"), InputPath: aws.String("$")}, "ValidationException", "Only one of Input, InputPath, or InputTransformer"},
		{types.Target{Id: aws.String("a"), Arn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/nope"),
			EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("web")}}, "ResourceNotFoundException", "Cluster not found"},
		{types.Target{Id: aws.String("a"), Arn: aws.String(fn), RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(10)}}, "ValidationException", "maximumEventAgeInSeconds"},
	}
	for i, tc := range targets {
		_, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ok"), Targets: []types.Target{tc.t}})
		if code(err) != tc.code || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("target %d: %s %v; want %s with %q", i, code(err), err, tc.code, tc.text)
		}
	}
	// Six targets: over EventBridge's five.
	var six []types.Target
	for i := range 6 {
		six = append(six, types.Target{Id: aws.String(fmt.Sprint(i)), Arn: aws.String(fn)})
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ok"), Targets: six}); code(err) != "LimitExceededException" {
		t.Errorf("six targets: %v", err)
	}
	if lt, _ := client.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("ok")}); len(lt.Targets) != 0 {
		t.Errorf("refused targets stored: %+v", lt.Targets)
	}
	if l, _ := client.ListRules(ctx, &eventbridge.ListRulesInput{}); len(l.Rules) != 1 {
		t.Errorf("refused rules stored: %d rules", len(l.Rules))
	}
	// Entries refused one by one.
	pe, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(`{"a":1}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(`[1]`)},
		{Source: aws.String("my.app"), Detail: aws.String(`{}`)},
	}})
	if err != nil || pe.FailedEntryCount != 2 || aws.ToString(pe.Entries[0].EventId) == "" ||
		aws.ToString(pe.Entries[1].ErrorCode) != "MalformedDetail" || aws.ToString(pe.Entries[2].ErrorCode) != "InvalidArgument" {
		t.Fatalf("PutEvents %+v %v", pe, err)
	}
}

// An event PutEvents accepted reaches a rule's Lambda target, transformed.
func TestPutEventsDeliversToLambda(t *testing.T) {
	fns := &lambda{}
	c := start(t, controlplane.Config{EventsLambda: fns})
	client := sdk(t, c.CP)
	ctx := context.Background()
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("big"), EventPattern: aws.String(`{"source":["my.app"],"detail":{"size":[{"numeric":[">=",10]}]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("big"), Targets: []types.Target{{
		Id: aws.String("fn"), Arn: aws.String(fn),
		InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"key": "$.detail.key"}, InputTemplate: aws.String(`{"object": <key>, "rule": "<aws.events.rule-name>"}`)},
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("Object Created"), Detail: aws.String(`{"key":"small.png","size":1}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("Object Created"), Detail: aws.String(`{"key":"photo.png","size":100}`)},
		{Source: aws.String("other.app"), DetailType: aws.String("Object Created"), Detail: aws.String(`{"key":"other.png","size":100}`)},
	}}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the function invoked", func() bool { return len(fns.Calls()) >= 1 })
	cptest.Consistently(t, "one invocation", 200*time.Millisecond, func() bool { return len(fns.Calls()) == 1 })
	call := fns.Calls()[0]
	if string(call.Payload) != `{"object": "photo.png", "rule": "big"}` || call.Principal != "events.amazonaws.com" ||
		call.SourceArn != "arn:aws:events:us-east-1:000000000000:rule/big" || call.Function != fn {
		t.Fatalf("invocation %+v payload %s", call, call.Payload)
	}
}

// A target that does not take the event is retried as its policy says,
// then the event is a dead letter listed by ListDeadLetterEvents.
func TestRetryThenDeadLetter(t *testing.T) {
	fns := &lambda{fail: true}
	clk := newClock()
	c := start(t, controlplane.Config{EventsLambda: fns, EventsClock: clk.Now})
	client := sdk(t, c.CP)
	ctx := context.Background()
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["my.app"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), Targets: []types.Target{{
		Id: aws.String("fn"), Arn: aws.String(fn), RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(2)},
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")},
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(`{"n":1}`)}}}); err != nil {
		t.Fatal(err)
	}
	eb := berthv1.NewEventBridgeClient(c.Dial(t))
	deadLetters := func() []*berthv1.EventDeadLetterRecord {
		l, err := eb.ListDeadLetterEvents(c.Ctx, &berthv1.ListDeadLetterEventsRequest{Rule: "r"})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetDeadLetters()
	}
	// Three attempts (one and two retries), the clock moved past each
	// back-off.
	cptest.Eventually(t, "a dead letter", func() bool {
		clk.Advance(10 * time.Second)
		return len(deadLetters()) == 1
	})
	dl := deadLetters()[0]
	if dl.GetAttempts() != 3 || dl.GetTargetId() != "fn" || dl.GetDeadLetterArn() != "arn:aws:sqs:us-east-1:000000000000:dlq" || !strings.Contains(dl.GetInput(), `"n":1`) {
		t.Fatalf("dead letter %v", dl)
	}
	if len(fns.Calls()) != 0 {
		t.Fatal("a failing function took the event")
	}
}

// A rule's ScheduleExpression fires its targets once per slot, on the
// injected clock; slots missed fire once.
func TestScheduledRule(t *testing.T) {
	fns := &lambda{}
	clk := newClock()
	c := start(t, controlplane.Config{EventsLambda: fns, EventsClock: clk.Now})
	client := sdk(t, c.CP)
	ctx := context.Background()
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("every-minute"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("every-minute"), Targets: []types.Target{{Id: aws.String("fn"), Arn: aws.String(fn)}}}); err != nil {
		t.Fatal(err)
	}
	cptest.Consistently(t, "nothing before the first slot", 100*time.Millisecond, func() bool { return len(fns.Calls()) == 0 })
	clk.Advance(time.Minute)
	cptest.Eventually(t, "the first slot", func() bool { return len(fns.Calls()) == 1 })
	var ev map[string]any
	if err := json.Unmarshal(fns.Calls()[0].Payload, &ev); err != nil || ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" {
		t.Fatalf("scheduled event %s", fns.Calls()[0].Payload)
	}
	clk.Advance(10 * time.Minute)
	cptest.Eventually(t, "the missed slots", func() bool { return len(fns.Calls()) == 2 })
	cptest.Consistently(t, "missed slots fire once", 200*time.Millisecond, func() bool { return len(fns.Calls()) == 2 })
	// Disabled: no slot fires.
	if _, err := client.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("every-minute")}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	cptest.Consistently(t, "a disabled rule fires nothing", 200*time.Millisecond, func() bool { return len(fns.Calls()) == 2 })
}

// A rule with an ECS target starts a task on a hollow agent, with the
// event's data in its environment.
func TestRuleStartsECSTask(t *testing.T) {
	c := start(t, controlplane.Config{})
	c.StartAgent(t, agentConfig())
	c.WaitInstances(t, 1)
	client := sdk(t, c.CP)
	ctx := context.Background()
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, &berthv1.RegisterTaskDefinitionRequest{Family: "resize",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "resize", Image: "resize", Memory: proto.Int32(128)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-upload"), EventPattern: aws.String(`{"detail-type":["Object Created"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-upload"), Targets: []types.Target{{
		Id: aws.String("resize"), Arn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/default"),
		EcsParameters: &types.EcsParameters{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:000000000000:task-definition/resize:1")},
		InputTransformer: &types.InputTransformer{InputPathsMap: map[string]string{"key": "$.detail.object.key"},
			InputTemplate: aws.String(`{"containerOverrides": [{"name": "resize", "environment": [{"name": "KEY", "value": <key>}]}]}`)},
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.s3"), DetailType: aws.String("Object Created"), Detail: aws.String(`{"object":{"key":"photo.png"}}`)}}}); err != nil {
		t.Fatal(err)
	}
	var task *berthv1.Task
	cptest.Eventually(t, "a task started by the rule", func() bool {
		l, err := c.ECS.ListTasks(c.Ctx, &berthv1.ListTasksRequest{StartedBy: "events-rule/on-upload"})
		if err != nil || len(l.GetTaskArns()) == 0 {
			return false
		}
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: l.GetTaskArns()})
		if err != nil || len(d.GetTasks()) == 0 {
			return false
		}
		task = d.GetTasks()[0]
		return task.GetLastStatus() == "RUNNING"
	})
	env := task.GetOverrides().GetContainerOverrides()[0].GetEnvironment()
	if len(env) != 1 || env[0].GetName() != "KEY" || env[0].GetValue() != "photo.png" {
		t.Fatalf("overrides %v", task.GetOverrides())
	}
	// And berth's ECS put the task's state changes on the bus.
	cptest.Eventually(t, "ECS Task State Change RUNNING in the event log", func() bool {
		evs, err := c.CP.Store().EventLog(0, 1000)
		if err != nil {
			return false
		}
		for _, ev := range evs {
			if ev.GetSource() == "aws.ecs" && ev.GetDetailType() == "ECS Task State Change" && strings.Contains(ev.GetDetail(), `"lastStatus":"RUNNING"`) &&
				len(ev.GetResources()) == 1 && ev.GetResources()[0] == task.GetTaskArn() {
				return true
			}
		}
		return false
	})
}

// startAt runs a control plane on dir; stop shuts it down (a test's
// restart).
func startAt(t *testing.T, dir string, cfg controlplane.Config) (cp *controlplane.ControlPlane, stop func()) {
	t.Helper()
	cfg.DataDir, cfg.GRPCAddr, cfg.HTTPAddr, cfg.RegistryAddr = dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.EventsTick = 20 * time.Millisecond
	cp, err := controlplane.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cp.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return cp, stop
}

// Events accepted before a stop are delivered by the next control plane
// (whether the stop came before the dispatcher read them or while their
// target refused them), and a schedule's slot fires once across restarts:
// the slots missed while berth was down fire once at start.
func TestRestartDurability(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	clk := newClock()
	down := &lambda{fail: true}
	cp, stop := startAt(t, dir, controlplane.Config{EventsLambda: down, EventsClock: clk.Now})
	client := sdk(t, cp)
	ctx := context.Background()
	for _, name := range []string{"on-event", "every-minute"} {
		in := &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["my.app"]}`)}
		if name == "every-minute" {
			in = &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(1 minute)")}
		}
		if _, err := client.PutRule(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []types.Target{{Id: aws.String("fn"), Arn: aws.String(fn)}}}); err != nil {
			t.Fatal(err)
		}
	}
	putEvent := func(c *eventbridge.Client, n int) {
		t.Helper()
		if _, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String("my.app"), DetailType: aws.String("t"), Detail: aws.String(fmt.Sprintf(`{"n":%d}`, n))}}}); err != nil {
			t.Fatal(err)
		}
	}
	putEvent(client, 1)
	clk.Advance(time.Minute) // the first slot, refused by the function too
	store := cp.Store()
	cptest.Eventually(t, "the event and the slot queued for delivery", func() bool {
		n := 0
		_ = store.Documents("events-deliveries", "", "", func(*berthv1.Document) bool { n++; return true })
		return n == 2
	})
	putEvent(client, 2) // and stopped at once: maybe not read yet
	stop()

	clk.Advance(5 * time.Minute) // five slots missed while down
	up := &lambda{}
	cp2, _ := startAt(t, dir, controlplane.Config{EventsLambda: up, EventsClock: clk.Now})
	_ = cp2
	count := func(pred func(string) bool) int {
		n := 0
		for _, c := range up.Calls() {
			if pred(string(c.Payload)) {
				n++
			}
		}
		return n
	}
	scheduled := func(p string) bool { return strings.Contains(p, "Scheduled Event") }
	cptest.Eventually(t, "both events and the slots delivered", func() bool {
		return count(func(p string) bool { return strings.Contains(p, `"n":1`) }) >= 1 &&
			count(func(p string) bool { return strings.Contains(p, `"n":2`) }) >= 1 && count(scheduled) == 2
	})
	// The slot before the stop, and one for the five missed: no more.
	cptest.Consistently(t, "slots fire once", 300*time.Millisecond, func() bool { return count(scheduled) == 2 })
}
