package testimage

import (
	"context"
	"errors"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/berth/berth/internal/dockertest"
)

// Tag gives image (one of this package's images) the further name name, such as the
// "127.0.0.1:51670/busybox:latest" a task definition names, until t ends. It refuses
// a name that already names an image no test built (one without the berth.test=1
// label), so it never moves or removes someone else's image; a name left by a killed
// test run is taken over. The cleanup removes the name only while it still names
// image: the image keeps its own tag, so only the name goes. A name is one test's at a
// time: tag it in the parent of parallel subtests.
func Tag(t testing.TB, img, name string) {
	t.Helper()
	cli := dockertest.Client(t)
	ctx := context.Background()
	if err := checkFreeName(ctx, cli, name); err != nil {
		t.Fatal(err)
	}
	target, err := cli.ImageInspect(ctx, img)
	if err != nil {
		t.Fatalf("tag %s: %v", name, err)
	}
	if err := cli.ImageTag(ctx, img, name); err != nil {
		t.Fatalf("tag %s as %s: %v", img, name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := dockertest.Context()
		defer cancel()
		cli, err := dockertest.NewClient()
		if err != nil {
			t.Errorf("untag %s: %v", name, err)
			return
		}
		defer cli.Close()
		if now, err := cli.ImageInspect(ctx, name); err != nil || now.ID != target.ID {
			return // gone already, or no longer ours to remove
		}
		if _, err := cli.ImageRemove(ctx, name, image.RemoveOptions{PruneChildren: false}); err != nil {
			t.Errorf("untag %s: %v", name, err)
		}
	})
}

// checkFreeName reports an error if name names an image that is not a test's.
func checkFreeName(ctx context.Context, cli *client.Client, name string) error {
	img, err := cli.ImageInspect(ctx, name)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if img.Config == nil || img.Config.Labels[dockertest.LabelTest] != "1" {
		return errors.New("testimage: " + name + " names an image no test built; it will not be re-tagged")
	}
	return nil
}
