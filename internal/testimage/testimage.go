// Package testimage builds berth's test image: FROM scratch, holding the static program
// in ./testapp at /testapp (the entrypoint) and at /bin/sh (for CMD-SHELL health
// checks), and a world-writable /tmp. Tests run it with a command such as ["exit", "42"] or ["serve", ":8080"];
// see testapp's doc for the list.
//
// The image is built through the Docker API from a tar context, never pulled, once per
// test process, under a tag of its own (berth-test/app:<content hash>-<pid>) so that
// test processes running side by side never remove an image another one uses. It is
// labelled berth.test=1. A package whose tests call Image calls Cleanup from TestMain.
package testimage

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berth/berth/internal/dockertest"
)

// Repository is the repository of every image berth's tests build; nothing real lives
// under it.
const Repository = "berth-test/app"

// Entrypoint is the test program's path in the image.
const Entrypoint = "/testapp"

var (
	buildOnce sync.Once
	builtTag  string
	buildErr  error
)

// Image returns the tag of the test image, building it on first use in this process.
// It skips or fails t as dockertest.Client does when there is no daemon.
func Image(t testing.TB) string {
	t.Helper()
	dockertest.Client(t)
	buildOnce.Do(func() { builtTag, buildErr = buildImage() })
	if buildErr != nil {
		t.Fatalf("build test image: %v", buildErr)
	}
	return builtTag
}

// Cleanup removes the image this process built, if any. Call it from TestMain after
// m.Run.
func Cleanup() error {
	if builtTag == "" {
		return nil
	}
	cli, err := dockertest.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = cli.ImageRemove(ctx, builtTag, image.RemoveOptions{PruneChildren: true})
	if err != nil {
		return fmt.Errorf("remove test image %s: %w", builtTag, err)
	}
	return nil
}

// Main runs m, removes the test image and exits; for a TestMain with nothing else to do.
func Main(m *testing.M) {
	code := m.Run()
	if err := Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
