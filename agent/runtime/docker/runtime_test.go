package docker_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/runtime/runtimetest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := testimage.Cleanup(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
		os.Exit(code)
	}))
}

// newHarness returns an offline Docker runtime over the test image; every container it
// makes is labelled berth.test=1.
func newHarness(t *testing.T) runtimetest.Harness {
	t.Helper()
	rt, err := docker.NewWithClient(t.Context(), dockertest.Client(t), docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	return runtimetest.Harness{
		Runtime:      rt,
		Image:        testimage.Image(t),
		MissingImage: testimage.Repository + ":missing",
		Labels:       dockertest.Labels(nil),
	}
}

// TestConformance runs the lifecycle every runtime must have against real containers.
func TestConformance(t *testing.T) {
	runtimetest.Run(t, newHarness(t))
}
