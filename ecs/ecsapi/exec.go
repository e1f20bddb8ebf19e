package ecsapi

import (
	"context"
	"errors"
	"io"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// execNotEnabled is ECS's refusal of ExecuteCommand for a task run without
// enableExecuteCommand (or whose execute command agent is not running), word
// for word, with ECS's typographic apostrophe.
const execNotEnabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again."

// execChunkBytes is the largest piece of input sent to an agent in one
// message; larger ones are split.
const execChunkBytes = 32 << 10

// TaskExecutor reaches the agent of a container instance to run commands in
// its tasks' containers: the dispatcher, which holds the agents' sessions.
type TaskExecutor interface {
	// StreamExec asks the agent of instance (cluster, instanceID) to run
	// req's command, sends it what arrives on input, sends the command's
	// output with send, and returns the exit code once the command exited.
	// Leaving early (ctx ending, send failing) ends the command.
	StreamExec(ctx context.Context, cluster, instanceID string, req *berthv1.ExecRequest, input <-chan *berthv1.TaskExecInput, send func(*berthv1.TaskExecOutput) error) (int32, error)
}

// execTarget is the task and container a command runs in.
type execTarget struct {
	cluster   string
	rec       *berthv1.TaskRecord
	container *berthv1.Container
}

// findExecTarget reads the cluster, task and container of an exec and checks
// that the task was run with execute command enabled, as ECS does.
func (s *Server) findExecTarget(clusterParam, task, container string) (*execTarget, error) {
	cluster, err := s.clusterName("cluster", clusterParam)
	if err != nil {
		return nil, err
	}
	id, err := objectID("task", arn.TypeTask, cluster, task)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Task(cluster, id)
	if err != nil {
		return nil, err
	}
	t := rec.Task
	var names []string
	var found *berthv1.Container
	for _, c := range t.GetContainers() {
		names = append(names, c.GetName())
		if c.GetName() == container {
			found = c
		}
	}
	switch {
	case container == "" && len(t.GetContainers()) == 1:
		found = t.GetContainers()[0]
	case container == "":
		return nil, ecserr.Param("container", "is required: task %s has %d containers (%s)", t.GetTaskArn(), len(names), strings.Join(names, ", "))
	case found == nil:
		return nil, ecserr.Param("container", "task %s has no container named %q (it has %s)", t.GetTaskArn(), container, strings.Join(names, ", "))
	}
	if !t.GetEnableExecuteCommand() {
		return nil, ecserr.New(ecserr.FailedPrecondition, ecserr.InvalidParameterException, "%s", execNotEnabled)
	}
	return &execTarget{cluster: cluster, rec: rec, container: found}, nil
}

// ExecuteCommand answers as ECS does for a task run without
// enableExecuteCommand. For a task with it, ECS would open a Systems
// Manager session for the session-manager-plugin; berth has no Session
// Manager and hands out no session it cannot serve, so it refuses with
// TargetNotConnectedException (ECS's exception for a task whose exec agent
// cannot be reached) and names berth exec, which runs the command.
func (s *Server) ExecuteCommand(ctx context.Context, req *berthv1.ExecuteCommandRequest) (*berthv1.ExecuteCommandResponse, error) {
	if req.GetTask() == "" {
		return nil, ecserr.Param("task", "is required")
	}
	if req.GetCommand() == "" {
		return nil, ecserr.Param("command", "is required")
	}
	target, err := s.findExecTarget(req.GetCluster(), req.GetTask(), req.GetContainer())
	if err != nil {
		return nil, err
	}
	if !req.GetInteractive() {
		return nil, ecserr.Param("interactive", "must be true: ECS runs commands only in interactive sessions")
	}
	if t := target.rec.Task; t.GetLastStatus() != store.TaskRunning {
		return nil, ecserr.New(ecserr.FailedPrecondition, ecserr.InvalidParameterException, "%s", execNotEnabled)
	}
	return nil, ecserr.New(ecserr.FailedPrecondition, ecserr.TargetNotConnectedException,
		"berth has no Systems Manager Session Manager, so ExecuteCommand opens no session for the session-manager-plugin. "+
			"Run the command through berth's agent instead: berth exec --cluster %s %s --container %s -- %s",
		target.cluster, target.rec.Id, target.container.GetName(), req.GetCommand())
}

// ExecTask runs a command in a task's container through the agent that runs
// the task (berth exec): start, then input both ways until the command
// exits, whose code is the last message.
func (b *Berth) ExecTask(stream berthv1.Berth_ExecTaskServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return ecserr.Param("start", "the first message of ExecTask must be start")
	}
	if start.GetTask() == "" {
		return ecserr.Param("start.task", "is required")
	}
	if len(start.GetCommand()) == 0 || start.GetCommand()[0] == "" {
		return ecserr.Param("start.command", "is required: the program to run and its arguments")
	}
	target, err := b.s.findExecTarget(start.GetCluster(), start.GetTask(), start.GetContainer())
	if err != nil {
		return err
	}
	t, c := target.rec.Task, target.container
	if t.GetLastStatus() != store.TaskRunning || t.GetDesiredStatus() != store.TaskRunning {
		return ecserr.New(ecserr.FailedPrecondition, ecserr.InvalidParameterException,
			"The task %s is %s (desired %s): a command runs only in a RUNNING task.", t.GetTaskArn(), t.GetLastStatus(), t.GetDesiredStatus())
	}
	if c.GetLastStatus() != store.TaskRunning {
		return ecserr.New(ecserr.FailedPrecondition, ecserr.InvalidParameterException,
			"The container %s of task %s is %s: a command runs only in a RUNNING container.", c.GetName(), t.GetTaskArn(), c.GetLastStatus())
	}
	if b.Exec == nil {
		return ecserr.New(ecserr.Unimplemented, ecserr.UnsupportedFeatureException, "This control plane does not reach agents to run commands.")
	}
	if err := stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_Started{Started: &berthv1.ExecStarted{
		TaskArn: t.GetTaskArn(), ContainerName: c.GetName(), ContainerArn: c.GetContainerArn(),
	}}}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	input := make(chan *berthv1.TaskExecInput)
	go forwardExecInput(ctx, stream, start, input) // ends when the call does, which returning from ExecTask ensures
	req := &berthv1.ExecRequest{
		TaskArn: t.GetTaskArn(), Container: c.GetName(), Command: start.GetCommand(),
		Tty: start.GetTty(), Stdin: start.GetStdin(), Size: start.GetSize(),
	}
	code, err := b.Exec.StreamExec(ctx, target.cluster, target.rec.InstanceId, req, input, func(o *berthv1.TaskExecOutput) error {
		switch m := o.GetMessage().(type) {
		case *berthv1.TaskExecOutput_Stdout:
			return stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_Stdout{Stdout: m.Stdout}})
		case *berthv1.TaskExecOutput_Stderr:
			return stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_Stderr{Stderr: m.Stderr}})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return stream.Send(&berthv1.ExecTaskResponse{Message: &berthv1.ExecTaskResponse_ExitCode{ExitCode: code}})
}

// forwardExecInput turns the caller's input into the agent's: stdin in
// chunks of at most execChunkBytes (only when start asked for stdin), its
// end (also when the caller closes its side), and resizes (only with a
// TTY). It ends when the caller's stream or ctx does.
func forwardExecInput(ctx context.Context, stream berthv1.Berth_ExecTaskServer, start *berthv1.ExecStart, input chan<- *berthv1.TaskExecInput) {
	put := func(m *berthv1.TaskExecInput) bool {
		select {
		case input <- m:
			return true
		case <-ctx.Done():
			return false
		}
	}
	stdinOpen := start.GetStdin()
	closeStdin := func() bool {
		if !stdinOpen {
			return true
		}
		stdinOpen = false
		return put(&berthv1.TaskExecInput{Message: &berthv1.TaskExecInput_CloseStdin{CloseStdin: true}})
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			closeStdin()
			return
		}
		if err != nil {
			return
		}
		switch msg := m.GetMessage().(type) {
		case *berthv1.ExecTaskRequest_Stdin:
			for b := msg.Stdin; stdinOpen && len(b) > 0; {
				n := min(len(b), execChunkBytes)
				if !put(&berthv1.TaskExecInput{Message: &berthv1.TaskExecInput_Stdin{Stdin: b[:n]}}) {
					return
				}
				b = b[n:]
			}
		case *berthv1.ExecTaskRequest_CloseStdin:
			if !closeStdin() {
				return
			}
		case *berthv1.ExecTaskRequest_Resize:
			if start.GetTty() && !put(&berthv1.TaskExecInput{Message: &berthv1.TaskExecInput_Resize{Resize: msg.Resize}}) {
				return
			}
		}
	}
}
