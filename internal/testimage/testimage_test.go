package testimage

import (
	"context"
	"testing"

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
