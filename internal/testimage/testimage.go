// Package testimage builds berth's test images through the Docker API, from tar
// contexts, never pulled:
//
//   - Image: FROM scratch, the static program in ./testapp at /testapp (the entrypoint)
//     and at /bin/sh (for CMD-SHELL health checks), and a world-writable /tmp. Tests run
//     it with a command such as ["exit", "42"] or ["serve", ":8080"]; see testapp's doc.
//   - Busybox: FROM scratch, the host's static busybox (Debian's busybox-static) at
//     /bin/busybox with its applets linked beside it, for task definitions that run
//     real shell commands (ECS's own test task definitions use busybox).
//   - Lambda: FROM scratch, ./lambdafn (a Go function over aws-lambda-go's lambda.Start)
//     at /var/task/bootstrap, the entrypoint: a Lambda function image.
//   - Stress: the test image with entrypoint ["/testapp", "stress"], which reads the
//     flags of amazon/amazon-ecs-stress (-memory MB: allocate and hold MB MiB).
//
// Each is built once per test process, under a tag of its own
// (berth-test/<name>:<content hash>-<pid>) so that test processes running side by side
// never remove an image another one uses, and labelled berth.test=1. Tag gives one of
// them a further name for one test (e.g. the image name a task definition names). A
// package whose tests use these images calls Cleanup from TestMain.
package testimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berth/berth/internal/dockertest"
)

// Repository is the repository of berth's test-program image; every image berth's
// tests build lives under its "berth-test/" prefix, where nothing real lives.
const Repository = "berth-test/app"

// Entrypoint is the test program's path in the image.
const Entrypoint = "/testapp"

// lazyImage is an image built on first use in this process.
type lazyImage struct {
	once  sync.Once
	tag   string
	err   error
	build func() (string, error)
}

var (
	appImage     = &lazyImage{build: buildApp}
	busyboxImage = &lazyImage{build: buildBusybox}
	stressImage  = &lazyImage{build: buildStress}
	lambdaImage  = &lazyImage{build: buildLambda}

	builtMu sync.Mutex
	built   []string // tags this process built, in build order
)

// get builds the image on first use, or skips or fails t as dockertest.Client does
// when there is no daemon.
func (l *lazyImage) get(t testing.TB) string {
	t.Helper()
	dockertest.Client(t)
	tag, err := l.image()
	if err != nil {
		t.Fatalf("build test image: %v", err)
	}
	return tag
}

// image builds the image on first use and returns its tag.
func (l *lazyImage) image() (string, error) {
	l.once.Do(func() {
		l.tag, l.err = l.build()
		if l.err == nil {
			builtMu.Lock()
			built = append(built, l.tag)
			builtMu.Unlock()
		}
	})
	return l.tag, l.err
}

// BuildApp builds the test-program image outside a test (for benchmarks),
// once per process; Cleanup removes it.
func BuildApp() (string, error) { return appImage.image() }

// BuildLambda builds the Lambda function image outside a test (for
// benchmarks), once per process; Cleanup removes it.
func BuildLambda() (string, error) { return lambdaImage.image() }

// Image returns the tag of the test-program image, building it on first use in this
// process.
func Image(t testing.TB) string {
	t.Helper()
	return appImage.get(t)
}

// Busybox returns the tag of the busybox image, building it on first use in this
// process. The host needs /bin/busybox, statically linked (apt-get install
// busybox-static).
func Busybox(t testing.TB) string {
	t.Helper()
	return busyboxImage.get(t)
}

// Stress returns the tag of the image that plays amazon/amazon-ecs-stress, building it
// on first use in this process.
func Stress(t testing.TB) string {
	t.Helper()
	Image(t) // its base
	return stressImage.get(t)
}

// Lambda returns the tag of the Lambda function image (./lambdafn, over
// aws-lambda-go, at /var/task/bootstrap FROM scratch), building it on first
// use in this process.
func Lambda(t testing.TB) string {
	t.Helper()
	return lambdaImage.get(t)
}

// Cleanup removes the images this process built, the last built first (the stress
// image stands on the test-program image). Call it from TestMain after m.Run.
func Cleanup() error {
	builtMu.Lock()
	tags := slices.Clone(built)
	built = nil
	builtMu.Unlock()
	if len(tags) == 0 {
		return nil
	}
	cli, err := dockertest.NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, tag := range slices.Backward(tags) {
		if _, err := cli.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove test image %s: %w", tag, err))
		}
	}
	return errors.Join(errs...)
}

// Main runs m, removes the test images and exits; for a TestMain with nothing else to
// do.
func Main(m *testing.M) {
	code := m.Run()
	if err := Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
