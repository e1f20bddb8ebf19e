package e2e

import (
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/inprocess"
	"github.com/berth/berth/internal/testimage"
)

// TestTaskRunsAnImageFromECR: an image pushed to berth's registry with the
// docker CLI (after docker login with GetAuthorizationToken's token) runs as
// an ECS task named by its ECR URI and by the registry's address, on an
// agent whose Docker has neither name: the agent pulls it from berth's
// registry with the credential that came with the task.
func TestTaskRunsAnImageFromECR(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	pushed := s.pushToECR(t, img, "e2e-run")

	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	for i, name := range []string{"000000000000.dkr.ecr.us-east-1.amazonaws.com/e2e-run:v1", pushed} {
		dockertest.RemoveImageOnCleanup(t, s.docker, name)
		if i == 1 { // the first pull named the image by the registry's address too
			if _, err := s.docker.ImageRemove(s.Ctx, pushed, image.RemoveOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.docker.ImageInspect(s.Ctx, name); err == nil {
			t.Fatalf("%s is already in the local Docker", name)
		}
		td := sleepTaskDefinition(name)
		arn := s.runTask(t, s.register(t, td))
		task := s.waitStatus(t, arn, engine.StatusRunning)
		if d := containerOf(t, task, "app").GetImageDigest(); !strings.HasPrefix(d, "sha256:") {
			t.Errorf("%s: imageDigest %q", name, d)
		}
		s.stopTask(t, arn, "test over")
		s.waitStatus(t, arn, engine.StatusStopped)
	}
}

// TestTaskWithAMissingECRImageStops: a tag that was never pushed stops the
// task with CannotPullContainerError naming the image.
func TestTaskWithAMissingECRImageStops(t *testing.T) {
	t.Parallel()
	s := newStack(t, controlplane.Config{})
	ecr := berthv1.NewECRClient(s.Dial(t))
	if _, err := ecr.CreateRepository(s.Ctx, &berthv1.CreateRepositoryRequest{RepositoryName: "web"}); err != nil {
		t.Fatal(err)
	}
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	name := "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:never"
	arn := s.runTask(t, s.register(t, sleepTaskDefinition(name)))
	task := s.waitStatus(t, arn, engine.StatusStopped)
	if r := containerOf(t, task, "app").GetReason(); !strings.Contains(r, "CannotPullContainerError") || !strings.Contains(r, name) {
		t.Errorf("container reason %q, want CannotPullContainerError naming %s", r, name)
	}
}

// pushToECR creates the repository repo and pushes img to it as repo:v1 with
// the docker CLI, after docker login with GetAuthorizationToken's token, and
// returns the pushed name, removed from the local Docker again.
// Each test names its own repository: packages' tests run at once on one
// Docker, and an image name two of them pull would be shared.
func (s *stack) pushToECR(t *testing.T, img, repo string) string {
	t.Helper()
	ecr := berthv1.NewECRClient(s.Dial(t))
	reg := s.CP.RegistryAddr()
	if _, err := ecr.CreateRepository(s.Ctx, &berthv1.CreateRepositoryRequest{RepositoryName: repo}); err != nil {
		t.Fatal(err)
	}
	tok, err := ecr.GetAuthorizationToken(s.Ctx, &berthv1.GetAuthorizationTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	userPassword, _ := base64.StdEncoding.DecodeString(tok.GetAuthorizationData()[0].GetAuthorizationToken())
	cfgDir := t.TempDir()
	docker := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("docker", append([]string{"--config", cfgDir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	docker(strings.TrimPrefix(string(userPassword), "AWS:"), "login", "--username", "AWS", "--password-stdin", reg)
	pushed := reg + "/" + repo + ":v1"
	testimage.Tag(t, img, pushed)
	docker("", "push", pushed)
	docker("", "rmi", pushed) // the agent's Docker no longer has the name
	return pushed
}

// TestFargateTaskRunsAnImageFromECR: a Fargate task whose image is only in
// berth's registry runs on a pool host, which pulls it with the task's
// credential.
func TestFargateTaskRunsAnImageFromECR(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	ctx, cancel := dockertest.Context()
	defer cancel()
	d, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	pool := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (runtime.Runtime, error) { return d, nil },
		DataDir: t.TempDir(), RemoveContainersOnExit: true,
		Engine: engine.Options{PauseImage: img, PauseCommand: []string{"sleep"}, StopTimeout: stopTimeout},
	}
	t.Cleanup(func() { d.Close() }) // after the control plane (and the hosts) stopped
	s := newStack(t, controlplane.Config{
		HeartbeatPeriod: 200 * time.Millisecond,
		Fargate:         fargate.Config{Provisioner: pool, HostCPU: 1024, HostMemory: 2048, Cooldown: time.Minute, Resync: 100 * time.Millisecond},
	})
	s.pushToECR(t, img, "e2e-fargate")
	name := "000000000000.dkr.ecr.us-east-1.amazonaws.com/e2e-fargate:v1"
	dockertest.RemoveImageOnCleanup(t, s.docker, name)
	dockertest.RemoveImageOnCleanup(t, s.docker, s.CP.RegistryAddr()+"/e2e-fargate:v1")
	td := sleepTaskDefinition(name)
	td.Family, td.RequiresCompatibilities, td.NetworkMode, td.Cpu, td.Memory = "ecr-fargate", []string{"FARGATE"}, "awsvpc", "256", "512"
	s.register(t, td)
	res, err := s.ECS.RunTask(s.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "ecr-fargate", LaunchType: "FARGATE"})
	if err != nil || len(res.GetTasks()) != 1 {
		t.Fatalf("RunTask: %v %v", res, err)
	}
	arn := res.GetTasks()[0].GetTaskArn()
	task := s.waitTaskWithin(t, time.Minute, arn, "the Fargate task RUNNING", func(task *berthv1.Task) bool {
		if task.GetLastStatus() == "STOPPED" {
			t.Fatalf("the task stopped: %s", task.GetStoppedReason())
		}
		return task.GetLastStatus() == engine.StatusRunning
	})
	if d := containerOf(t, task, "app").GetImageDigest(); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("imageDigest %q", d)
	}
	s.stopTask(t, arn, "test over")
	s.waitTaskWithin(t, time.Minute, arn, "the Fargate task STOPPED", func(task *berthv1.Task) bool { return task.GetLastStatus() == "STOPPED" })
}
