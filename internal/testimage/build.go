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

// file is one entry of a build context: a regular file, a directory (name ending in
// "/") or, with link set, a symbolic link to link.
type file struct {
	name string
	mode int64
	data []byte
	link string
}

const appDockerfile = `FROM scratch
COPY testapp /testapp
COPY testapp /bin/sh
COPY tmp /tmp
ENTRYPOINT ["/testapp"]
CMD ["sleep"]
`

// buildApp compiles testapp and builds the test-program image.
func buildApp() (string, error) {
	bin, err := compile("testapp")
	if err != nil {
		return "", err
	}
	return buildImage(Repository, []file{
		{name: "Dockerfile", mode: 0o644, data: []byte(appDockerfile)},
		{name: "testapp", mode: 0o755, data: bin},
		{name: "tmp/", mode: 0o1777},
	})
}

// buildStress builds the stress image over the test-program image, which must be
// built already; FROM a local image takes it without contacting a registry.
func buildStress() (string, error) {
	dockerfile := fmt.Sprintf("FROM %s\nENTRYPOINT [%q, \"stress\"]\nCMD []\n", appImage.tag, Entrypoint)
	return buildImage("berth-test/stress", []file{{name: "Dockerfile", mode: 0o644, data: []byte(dockerfile)}})
}

// buildImage builds files as a context into an image tagged
// <repo>:<content hash>-<pid>, labelled as a test's, and returns the tag.
func buildImage(repo string, files []file) (string, error) {
	buildCtx, sum, err := tarContext(files)
	if err != nil {
		return "", err
	}
	tag := fmt.Sprintf("%s:%s-%d", repo, sum, os.Getpid())
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
		return "", fmt.Errorf("image build %s: %w", repo, err)
	}
	defer resp.Body.Close()
	return tag, docker.ReadProgress(resp.Body)
}

// lambdaDockerfile is a Lambda function's image as AWS's provided base images
// lay it out: the function's bootstrap in /var/task.
const lambdaDockerfile = `FROM scratch
COPY bootstrap /var/task/bootstrap
WORKDIR /var/task
ENTRYPOINT ["/var/task/bootstrap"]
`

// buildLambda compiles lambdafn and builds the Lambda function image.
func buildLambda() (string, error) {
	bin, err := LambdaBootstrap()
	if err != nil {
		return "", err
	}
	return buildImage("berth-test/lambdafn", []file{
		{name: "Dockerfile", mode: 0o644, data: []byte(lambdaDockerfile)},
		{name: "bootstrap", mode: 0o755, data: bin},
	})
}

// LambdaBootstrap compiles lambdafn (a static Linux binary: a provided.al2023
// zip's bootstrap) and returns it.
func LambdaBootstrap() ([]byte, error) { return compile("lambdafn") }

// compile builds the program in ./name as a static Linux binary and returns it.
func compile(name string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "berth-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out,
		"github.com/berth/berth/internal/testimage/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", name, err, msg)
	}
	return os.ReadFile(out)
}

// tarContext returns files as a build context and a short hash of their content.
func tarContext(files []file) (io.Reader, string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		switch {
		case f.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, f.link, 0
		case strings.HasSuffix(f.name, "/"):
			hdr.Typeflag = tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &buf, hex.EncodeToString(sum[:6]), nil
}
