package e2e

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/testimage"
)

// Image names ECS's test task definitions use, tagged here onto the test images.
const (
	busyboxName = "127.0.0.1:51670/busybox:latest"
	stressName  = "amazon/amazon-ecs-stress:make"
)

// TestECSTaskDefinitions registers ECS's own test task definitions as they are and runs
// each to the end ECS gives it. The files that cannot run here are left out: see
// taskdefOutcomes.
func TestECSTaskDefinitions(t *testing.T) {
	t.Parallel()
	testimage.Tag(t, testimage.Busybox(t), busyboxName)
	testimage.Tag(t, testimage.Stress(t), stressName)
	s := newStack(t, controlplane.Config{})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	dir := taskdefsDir(t)
	for _, tc := range taskdefOutcomes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			arn := s.runTask(t, s.register(t, readTaskdef(t, dir, tc.name)))
			tc.check(t, s, arn)
		})
	}
}

// taskdefOutcome is how one testdata file's task must end.
type taskdefOutcome struct {
	name  string // aws__amazon-ecs-agent__<name>__task-definition.json
	check func(t *testing.T, s *stack, arn string)
}

// taskdefOutcomes are the files that run here. Left out of aws/amazon-ecs-agent's:
// network-link (its nginx image is not here, and the test image playing it would not
// be nginx), nginx (an unknown field: it does not register) and busybox-port-5180 (a
// fixed host port whose server waits for a client: a placement fixture). The other
// repositories' files need awsvpc or Fargate, images that are not here, or have
// placeholders for values.
var taskdefOutcomes = []taskdefOutcome{
	{"simple-exit", func(t *testing.T, s *stack, arn string) {
		task := s.waitStatus(t, arn, engine.StatusStopped)
		if c := containerOf(t, task, "exit"); task.GetStopCode() != engine.StopCodeEssentialContainerExited || c.GetExitCode() != 42 {
			t.Errorf("stopCode %q, exit code %v; want EssentialContainerExited, 42", task.GetStopCode(), c.ExitCode)
		}
	}},
	{"oom-task", func(t *testing.T, s *stack, arn string) {
		task := s.waitStatus(t, arn, engine.StatusStopped)
		if c := containerOf(t, task, "error"); !strings.HasPrefix(c.GetReason(), "OutOfMemoryError") {
			t.Errorf("container reason %q, exit code %v; want OutOfMemoryError", c.GetReason(), c.ExitCode)
		}
	}},
	{"invalid-image", func(t *testing.T, s *stack, arn string) {
		task := s.waitStatus(t, arn, engine.StatusStopped)
		if task.GetStopCode() != engine.StopCodeTaskFailedToStart || !strings.HasPrefix(task.GetStoppedReason(), "CannotPullContainerError:") {
			t.Errorf("stopCode %q, stoppedReason %q; want TaskFailedToStart, CannotPullContainerError:", task.GetStopCode(), task.GetStoppedReason())
		}
	}},
	{"container-ordering-success", func(t *testing.T, s *stack, arn string) {
		task := s.waitStatus(t, arn, engine.StatusStopped)
		wantExits(t, task, map[string]int32{"success-dependency": 0, "success": 0})
		if task.GetStopCode() != engine.StopCodeEssentialContainerExited {
			t.Errorf("stopCode %q, want EssentialContainerExited", task.GetStopCode())
		}
		taskVolumesRemoved(t, s, arn)
	}},
	{"container-ordering-complete", func(t *testing.T, s *stack, arn string) {
		task := s.waitStatus(t, arn, engine.StatusStopped)
		wantExits(t, task, map[string]int32{"complete-dependency": 1, "complete": 0})
	}},
	{"container-ordering-healthy", func(t *testing.T, s *stack, arn string) {
		// The dependent is not essential: the task runs on (its essential container
		// sleeps a minute), so watch the containers, then stop it.
		task := s.waitTask(t, arn, "the dependent container stopped", func(task *berthv1.Task) bool {
			return containerOf(t, task, "healthy").GetLastStatus() == engine.StatusStopped
		})
		if dep := containerOf(t, task, "healthy-dependency"); dep.GetHealthStatus() != engine.HealthHealthy || dep.GetLastStatus() != engine.StatusRunning {
			t.Errorf("healthy-dependency is %s and %s, want RUNNING and HEALTHY", dep.GetLastStatus(), dep.GetHealthStatus())
		}
		wantExits(t, task, map[string]int32{"healthy": 0})
		startedAfterHealthy(t, containerOf(t, task, "healthy"), containerOf(t, task, "healthy-dependency"))
		s.stopTask(t, arn, "test over")
		s.waitStatus(t, arn, engine.StatusStopped)
	}},
	{"granular-stop-timeout", func(t *testing.T, s *stack, arn string) {
		// The essential parent exits after 10 s. Its two dependencies trap SIGTERM and
		// sleep on: dependency1 is killed when its stopTimeout of 2 s runs out, while
		// dependency2's 30 s sleep ends within its own 20 s, and it exits 0.
		task := s.waitTaskWithin(t, time.Minute, arn, "dependency1 stopped", func(task *berthv1.Task) bool {
			return containerOf(t, task, "dependency1").GetLastStatus() == engine.StatusStopped
		})
		if dep2 := containerOf(t, task, "dependency2"); dep2.GetLastStatus() != engine.StatusRunning {
			t.Errorf("dependency2 is %s once dependency1 (stopTimeout 2) is killed; want RUNNING until its own stopTimeout of 20 s", dep2.GetLastStatus())
		}
		task = s.waitTaskWithin(t, time.Minute, arn, "task STOPPED", func(task *berthv1.Task) bool {
			return task.GetLastStatus() == engine.StatusStopped
		})
		wantExits(t, task, map[string]int32{"parent": 0, "dependency1": 137, "dependency2": 0})
		if task.GetStopCode() != engine.StopCodeEssentialContainerExited {
			t.Errorf("stopCode %q, want EssentialContainerExited", task.GetStopCode())
		}
	}},
}

// startedAfterHealthy checks, in Docker's records, that the dependent container
// started after a health check of its dependency had passed.
func startedAfterHealthy(t *testing.T, dependent, dependency *berthv1.Container) {
	t.Helper()
	started, err := time.Parse(time.RFC3339Nano, inspect(t, dependent.GetRuntimeId()).State.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	health := inspect(t, dependency.GetRuntimeId()).State.Health
	if health == nil || !slices.ContainsFunc(health.Log, func(r *container.HealthcheckResult) bool {
		return r.ExitCode == 0 && r.End.Before(started)
	}) {
		t.Errorf("%s started at %s, before any passing health check of %s: %+v", dependent.GetName(), started, dependency.GetName(), health)
	}
}

// taskVolumesRemoved waits for the task's volumes directory, in the agent's data dir,
// to be removed.
func taskVolumesRemoved(t *testing.T, s *stack, arn string) {
	t.Helper()
	if _, err := os.Stat(s.volumesDir); err != nil {
		t.Fatalf("the agent's volumes directory: %v", err)
	}
	dir := filepath.Join(s.volumesDir, arn[strings.LastIndex(arn, "/")+1:])
	cptest.Eventually(t, "the task's volumes removed", func() bool {
		_, err := os.Stat(dir)
		return errors.Is(err, fs.ErrNotExist)
	})
}

// wantExits checks the containers' exit codes.
func wantExits(t *testing.T, task *berthv1.Task, want map[string]int32) {
	t.Helper()
	for name, code := range want {
		c := containerOf(t, task, name)
		if c.ExitCode == nil {
			t.Errorf("%s has no exit code (it is %s, reason %q), want %d", name, c.GetLastStatus(), c.GetReason(), code)
		} else if c.GetExitCode() != code {
			t.Errorf("%s exited %d (reason %q), want %d", name, c.GetExitCode(), c.GetReason(), code)
		}
	}
}

// readTaskdef decodes one of ECS's test task definitions as a RegisterTaskDefinition
// request, as it is.
func readTaskdef(t *testing.T, dir, name string) *berthv1.RegisterTaskDefinitionRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "aws__amazon-ecs-agent__"+name+"__task-definition.json"))
	if err != nil {
		t.Fatal(err)
	}
	req := &berthv1.RegisterTaskDefinitionRequest{}
	if err := awsjson.Unmarshal(data, req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// taskdefsDir finds shared/testdata/ecs-taskdefs, which sits beside the repository.
func taskdefsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "shared", "testdata", "ecs-taskdefs")
		if info, err := os.Stat(candidate); err == nil && info.IsDir() {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no shared/testdata/ecs-taskdefs in any parent directory")
		}
		dir = filepath.Dir(dir)
	}
}
