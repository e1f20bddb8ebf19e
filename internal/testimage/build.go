package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"

	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/internal/dockertest"
)

const dockerfile = `FROM scratch
COPY testapp /testapp
COPY testapp /bin/sh
COPY tmp /tmp
ENTRYPOINT ["/testapp"]
CMD ["sleep"]
`

// buildImage compiles testapp, builds the image from a tar context and returns its tag.
func buildImage() (string, error) {
	bin, err := compile()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(bin)
	tag := fmt.Sprintf("%s:%s-%d", Repository, hex.EncodeToString(sum[:6]), os.Getpid())
	buildCtx, err := tarContext(bin)
	if err != nil {
		return "", err
	}
	cli, err := dockertest.NewClient()
	if err != nil {
		return "", err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      dockertest.Labels(nil),
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1, // no BuildKit session needed
	})
	if err != nil {
		return "", fmt.Errorf("image build: %w", err)
	}
	defer resp.Body.Close()
	return tag, docker.ReadProgress(resp.Body)
}

// compile builds testapp as a static Linux binary and returns it.
func compile() ([]byte, error) {
	dir, err := os.MkdirTemp("", "berth-testapp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testapp")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out,
		"github.com/berth/berth/internal/testimage/testapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build testapp: %w\n%s", err, msg)
	}
	return os.ReadFile(out)
}

// tarContext returns a build context holding the Dockerfile, the binary and an empty
// /tmp (scratch has none).
func tarContext(bin []byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"testapp", 0o755, bin}, {"tmp/", 0o1777, nil}}
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}
