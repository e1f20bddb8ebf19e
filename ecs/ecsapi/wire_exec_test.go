package ecsapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// ecsExecNotEnabled is ECS's answer to ExecuteCommand for a task run without
// enableExecuteCommand, as the aws CLI prints it.
const ecsExecNotEnabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."

// execCluster is a control plane with one hollow agent and, running on it,
// a task without execute command (plain), one with it (enabled), both of
// two containers, and a one-container task with it (single).
type execCluster struct {
	*cptest.Cluster
	agent                  *cptest.Agent
	plain, enabled, single string
}

func startExecCluster(t *testing.T) *execCluster {
	t.Helper()
	c := cptest.Start(t, controlplane.Config{})
	a := c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	register := func(family string, names ...string) {
		req := &berthv1.RegisterTaskDefinitionRequest{Family: family}
		for _, n := range names {
			req.ContainerDefinitions = append(req.ContainerDefinitions, &berthv1.ContainerDefinition{Name: n, Image: "busybox", Memory: proto.Int32(32)})
		}
		if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	register("pair", "web", "sidecar")
	register("one", "shell")
	run := func(td string, enable bool) string {
		resp, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: td, EnableExecuteCommand: enable})
		if err != nil || len(resp.GetTasks()) != 1 {
			t.Fatalf("RunTask %s: %v %v", td, err, resp.GetFailures())
		}
		task := resp.GetTasks()[0]
		if task.EnableExecuteCommand == nil || task.GetEnableExecuteCommand() != enable {
			t.Fatalf("RunTask %s with enableExecuteCommand %v: the task says %v", td, enable, task.GetEnableExecuteCommand())
		}
		arn := task.GetTaskArn()
		cptest.Eventually(t, "task "+arn+" RUNNING", func() bool {
			d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{arn}})
			return err == nil && len(d.GetTasks()) == 1 && d.GetTasks()[0].GetLastStatus() == "RUNNING"
		})
		return arn
	}
	return &execCluster{Cluster: c, agent: a, plain: run("pair", false), enabled: run("pair", true), single: run("one", true)}
}

// ExecuteCommand on the ECS JSON wire, with aws-sdk-go-v2: ECS's refusal,
// word for word, for a task without execute command; for one with it, no
// session (berth has no Session Manager) but ECS's exception naming berth
// exec; bad input in ECS's exceptions.
func TestSDKExecuteCommand(t *testing.T) {
	c := startExecCluster(t)
	client := sdk(t, c.CP, c.CP.AccessKey())
	ctx := context.Background()
	exec := func(task, container string) error {
		in := &ecs.ExecuteCommandInput{Task: aws.String(task), Command: aws.String("/bin/sh"), Interactive: true}
		if container != "" {
			in.Container = aws.String(container)
		}
		out, err := client.ExecuteCommand(ctx, in)
		if err == nil {
			t.Fatalf("ExecuteCommand %s answered %+v: berth has no session to give", task, out)
		}
		return err
	}
	check := func(what string, err error, code, text string) {
		t.Helper()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != code || !strings.Contains(api.ErrorMessage(), text) {
			t.Errorf("%s: %v, want %s with %q", what, err, code, text)
		}
	}

	err := exec(c.plain, "web")
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" || api.ErrorMessage() != ecsExecNotEnabled {
		t.Errorf("a task without execute command: %v, want InvalidParameterException: %s", err, ecsExecNotEnabled)
	}
	check("a task with execute command", exec(c.enabled, "web"), "TargetNotConnectedException", "berth exec --cluster default")
	check("a one-container task, its container left out", exec(c.single, ""), "TargetNotConnectedException", "--container shell -- /bin/sh")

	check("an unknown container", exec(c.enabled, "db"), "InvalidParameterException", `no container named "db" (it has web, sidecar)`)
	check("two containers, none named", exec(c.enabled, ""), "InvalidParameterException", "container: is required")
	_, err = client.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{Cluster: aws.String("nope"), Task: aws.String(c.enabled), Command: aws.String("ls"), Interactive: true})
	check("an unknown cluster", err, "ClusterNotFoundException", "")
	if err := exec("0123456789abcdef0123456789abcdef", "web"); err == nil {
		t.Error("an unknown task was not refused")
	}
	_, err = client.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{Task: aws.String(c.enabled), Container: aws.String("web"), Command: aws.String("ls")})
	check("not interactive", err, "InvalidParameterException", "interactive: must be true")

	if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: c.enabled}); err != nil {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the task STOPPED", func() bool {
		d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{c.enabled}})
		return err == nil && d.GetTasks()[0].GetLastStatus() == "STOPPED"
	})
	err = exec(c.enabled, "web")
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" || api.ErrorMessage() != ecsExecNotEnabled {
		t.Errorf("a stopped task: %v, want ECS's InvalidParameterException", err)
	}
}

// execTask runs ExecTask with start and returns the error the call ends
// with, or its exit code.
func execTask(ctx context.Context, b berthv1.BerthClient, start *berthv1.ExecStart) (int32, error) {
	stream, err := b.ExecTask(ctx)
	if err != nil {
		return 0, err
	}
	if err := stream.Send(&berthv1.ExecTaskRequest{Message: &berthv1.ExecTaskRequest_Start{Start: start}}); err != nil {
		return 0, err
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return 0, err
		}
		if c, ok := m.GetMessage().(*berthv1.ExecTaskResponse_ExitCode); ok {
			return c.ExitCode, nil
		}
	}
}

// ExecTask (berth exec) refuses what ECS refuses, and bad input, before it
// reaches an agent; a hollow agent says it runs no processes.
func TestExecTaskRefusals(t *testing.T) {
	c := startExecCluster(t)
	tests := []struct {
		name  string
		start *berthv1.ExecStart
		code  codes.Code
		text  string
	}{
		{"without execute command", &berthv1.ExecStart{Task: c.plain, Container: "web", Command: []string{"ls"}}, codes.FailedPrecondition, ecsExecNotEnabled},
		{"no command", &berthv1.ExecStart{Task: c.enabled, Container: "web"}, codes.InvalidArgument, "start.command: is required"},
		{"no task", &berthv1.ExecStart{Command: []string{"ls"}}, codes.InvalidArgument, "start.task: is required"},
		{"unknown task", &berthv1.ExecStart{Task: "0123456789abcdef0123456789abcdef", Command: []string{"ls"}}, codes.NotFound, "0123456789abcdef0123456789abcdef"},
		{"unknown container", &berthv1.ExecStart{Task: c.enabled, Container: "db", Command: []string{"ls"}}, codes.InvalidArgument, `no container named "db"`},
		{"unknown cluster", &berthv1.ExecStart{Cluster: "nope", Task: c.enabled, Command: []string{"ls"}}, codes.NotFound, "nope"},
		{"hollow", &berthv1.ExecStart{Task: c.single, Command: []string{"ls", "/"}}, codes.FailedPrecondition, "hollow"},
	}
	for _, tt := range tests {
		code, err := execTask(c.Ctx, c.Berth, tt.start)
		if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.text) {
			t.Errorf("%s: exit %d, %v; want %s with %q", tt.name, code, err, tt.code, tt.text)
		}
	}
	// The agent gone: its tasks still run as far as the store knows (until
	// they are lost), but nothing can reach them.
	if err := c.agent.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	cptest.Eventually(t, "the agent disconnected", func() bool {
		_, err := execTask(c.Ctx, c.Berth, &berthv1.ExecStart{Task: c.single, Command: []string{"ls"}})
		return status.Code(err) == codes.FailedPrecondition && strings.Contains(err.Error(), "has no connected agent")
	})
	if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: c.single}); err != nil {
		t.Fatal(err)
	}
	_, err := execTask(c.Ctx, c.Berth, &berthv1.ExecStart{Task: c.single, Command: []string{"ls"}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "a command runs only in a RUNNING task") {
		t.Errorf("a stopping task: %v", err)
	}
}

// A service's enableExecuteCommand reaches the tasks it starts; an update
// reaches those started after it, as in ECS.
func TestServiceEnableExecuteCommand(t *testing.T) {
	c := startExecCluster(t)
	taskOf := func(what string, keep func(*berthv1.Task) bool) *berthv1.Task {
		t.Helper()
		var found *berthv1.Task
		cptest.Eventually(t, what, func() bool {
			l, err := c.ECS.ListTasks(c.Ctx, &berthv1.ListTasksRequest{ServiceName: "shell"})
			if err != nil || len(l.GetTaskArns()) == 0 {
				return false
			}
			d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: l.GetTaskArns()})
			for _, task := range d.GetTasks() {
				if err == nil && keep(task) {
					found = task
					return true
				}
			}
			return false
		})
		return found
	}
	created, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: "shell", TaskDefinition: "one", DesiredCount: proto.Int32(1), EnableExecuteCommand: true})
	if err != nil || !created.GetService().GetEnableExecuteCommand() {
		t.Fatalf("CreateService with enableExecuteCommand: %v, %v", created, err)
	}
	first := taskOf("the service's task", func(*berthv1.Task) bool { return true })
	if first.EnableExecuteCommand == nil || !first.GetEnableExecuteCommand() {
		t.Errorf("the service's task has enableExecuteCommand %v, want true", first.EnableExecuteCommand)
	}
	updated, err := c.ECS.UpdateService(c.Ctx, &berthv1.UpdateServiceRequest{Service: "shell", EnableExecuteCommand: proto.Bool(false), ForceNewDeployment: true})
	if err != nil || updated.GetService().GetEnableExecuteCommand() {
		t.Fatalf("UpdateService enableExecuteCommand false: %v, %v", updated, err)
	}
	next := taskOf("a task of the new deployment", func(task *berthv1.Task) bool { return task.GetTaskArn() != first.GetTaskArn() })
	if next.EnableExecuteCommand == nil || next.GetEnableExecuteCommand() {
		t.Errorf("the new deployment's task has enableExecuteCommand %v, want false", next.EnableExecuteCommand)
	}
}
