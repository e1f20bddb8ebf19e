package testimage

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/internal/dockertest"
)

func TestMain(m *testing.M) { Main(m) }

// TestImageIsLabelledAndLocal proves the image is built, tagged under berth-test/ and
// labelled so that sweeps find it.
func TestImageIsLabelledAndLocal(t *testing.T) {
	tag := Image(t)
	cli := dockertest.Client(t)
	img, err := cli.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	if img.Config == nil || img.Config.Labels[dockertest.LabelTest] != "1" {
		t.Fatalf("image %s lacks label %s=1: %+v", tag, dockertest.LabelTest, img.Config)
	}
	if again := Image(t); again != tag {
		t.Fatalf("second Image() = %q, want the cached %q", again, tag)
	}
}

// TestBusyboxRunsShell proves the busybox image runs real shell command lines with its
// applets, as ECS's test task definitions do.
func TestBusyboxRunsShell(t *testing.T) {
	out, code := runImage(t, Busybox(t), nil, "sh", "-c", "cd /tmp && touch f && echo hi >> f && cat f && test -f f && ls /bin/wget")
	if code != 0 || out != "hi\n/bin/wget\n" {
		t.Fatalf("busybox sh: exit %d, output %q", code, out)
	}
}

// TestStressTakesECSFlags proves the stress image reads amazon-ecs-stress's flags: it
// allocates what -memory says, so a lower limit gets it OOM-killed.
func TestStressTakesECSFlags(t *testing.T) {
	_, code := runImage(t, Stress(t), &container.HostConfig{Resources: container.Resources{Memory: 32 << 20, MemorySwap: 32 << 20}},
		"-concurrency", "10", "-memory", "100")
	if code != 137 {
		t.Fatalf("stress -memory 100 under 32 MiB: exit %d, want 137 (OOM-killed)", code)
	}
}

// TestTagAddsAndRemovesAName proves Tag names an image for one test only, and that its
// cleanup takes the name away without removing the image.
func TestTagAddsAndRemovesAName(t *testing.T) {
	img := Image(t)
	cli := dockertest.Client(t)
	name := "berth-test/tagged:" + strings.ToLower(dockertest.Name("t"))
	t.Run("tagged", func(t *testing.T) {
		Tag(t, img, name)
		if _, err := cli.ImageInspect(context.Background(), name); err != nil {
			t.Fatalf("after Tag: %v", err)
		}
	})
	if _, err := cli.ImageInspect(context.Background(), name); !errdefs.IsNotFound(err) {
		t.Fatalf("after the test, %s: %v, want not found", name, err)
	}
	if _, err := cli.ImageInspect(context.Background(), img); err != nil {
		t.Fatalf("the tagged image itself is gone: %v", err)
	}
}

// runImage runs image with args to its end and returns its output and exit code.
func runImage(t *testing.T, img string, hc *container.HostConfig, args ...string) (string, int) {
	t.Helper()
	cli := dockertest.Client(t)
	ctx := context.Background()
	resp, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Cmd: args, Labels: dockertest.Labels(nil)}, hc, nil, nil, dockertest.Name("testimage"))
	if err != nil {
		t.Fatal(err)
	}
	dockertest.RemoveContainerOnCleanup(t, cli, resp.ID)
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, resp.ID, container.WaitConditionNotRunning)
	var code int
	select {
	case w := <-waitC:
		code = int(w.StatusCode)
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, resp.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var stdout strings.Builder
	if _, err := stdcopy.StdCopy(&stdout, io.Discard, logs); err != nil {
		t.Fatal(err)
	}
	return stdout.String(), code
}
