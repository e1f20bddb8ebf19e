// Package zipimage turns a Zip function's code into the image its execution
// environments run, as Lambda lays a zip out: the zip's files under
// /var/task, a writable /tmp, and for the custom runtimes (provided.al2023,
// provided.al2, provided) the zip's bootstrap as the entrypoint, FROM
// scratch (a bootstrap must then be static, as a Go or Rust one built for
// Lambda is). A managed runtime (python3.12, nodejs22.x, java21, ...) runs
// only when the operator maps it to a base image that carries its runtime
// interface client, as AWS's base images do (--lambda-runtime-image
// python3.12=IMAGE): the image is then FROM that base with the handler as its
// command. With no mapping the invocation ends in a function error that names
// the runtime and the flag.
//
// Images are built through the Docker API, tagged berth-lambda/code:HASH
// (the hash of CodeSha256 and the base), labelled berth.lambda.code-sha256,
// and reused while they exist: the same code is built once. Remove removes
// the images of a CodeSha256. A Builder holds no goroutines.
package zipimage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/berth/berth/lambda/envplan"
	"github.com/berth/berth/lambda/invoke"
)

// Repository is where berth's images of Zip functions are tagged.
const Repository = "berth-lambda/code"

// Labels berth puts on the images it makes.
const (
	LabelCode    = "berth.lambda.code-sha256"
	LabelRuntime = "berth.lambda.runtime"
)

// RuntimeFlag is the control plane's flag that maps a managed runtime to a
// base image.
const RuntimeFlag = "--lambda-runtime-image"

// IsCustomRuntime says whether runtime is one of Lambda's OS-only runtimes,
// whose zip carries its own bootstrap.
func IsCustomRuntime(runtime string) bool {
	return runtime == "provided" || strings.HasPrefix(runtime, "provided.")
}

// Config configures a Builder.
type Config struct {
	Docker *client.Client
	// ZipPath is where the zip of a CodeSha256 is kept (the API's CodePath
	// under the data dir).
	ZipPath func(codeSha256 string) string
	// RuntimeImages maps a managed runtime's name to its base image.
	RuntimeImages map[string]string
	// Labels go on every image as well (tests label theirs).
	Labels map[string]string
}

// Builder makes and keeps the images of Zip functions.
type Builder struct {
	cfg Config

	mu       sync.Mutex
	building map[string]*sync.Mutex // tag -> one build at a time
}

// New makes a Builder.
func New(cfg Config) *Builder {
	return &Builder{cfg: cfg, building: map[string]*sync.Mutex{}}
}

// Unmapped is the function error of a managed runtime with no base image.
func Unmapped(runtime string) *envplan.FunctionError {
	return &envplan.FunctionError{Type: "Runtime.Unsupported", Message: fmt.Sprintf(
		"berth runs the runtime %s only when it is mapped to a base image that carries its runtime interface client: start the control plane with %s %s=IMAGE",
		runtime, RuntimeFlag, runtime)}
}

// Tag is the image of fn's code on base ("" for a custom runtime).
func Tag(codeSha256, base string) string {
	sum := sha256.Sum256([]byte(codeSha256 + "\x00" + base))
	return Repository + ":" + hex.EncodeToString(sum[:12])
}

// Image is environments.ImageResolver: the image of a Zip function, built
// on first use.
func (b *Builder) Image(ctx context.Context, fn invoke.Function) (string, error) {
	base := ""
	if !IsCustomRuntime(fn.Runtime) {
		base = b.cfg.RuntimeImages[fn.Runtime]
		if base == "" {
			return "", Unmapped(fn.Runtime)
		}
	}
	tag := Tag(fn.CodeSha256, base)
	b.mu.Lock()
	lock := b.building[tag]
	if lock == nil {
		lock = &sync.Mutex{}
		b.building[tag] = lock
	}
	b.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	if _, err := b.cfg.Docker.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	if b.cfg.ZipPath == nil {
		return "", errors.New("zipimage: no zip store configured")
	}
	zr, err := zip.OpenReader(b.cfg.ZipPath(fn.CodeSha256))
	if err != nil {
		return "", fmt.Errorf("zipimage: the code of %s: %w", fn.ARN, err)
	}
	defer zr.Close()
	buildCtx, err := Context(&zr.Reader, fn, base)
	if err != nil {
		return "", err
	}
	labels := map[string]string{LabelCode: fn.CodeSha256, LabelRuntime: fn.Runtime}
	for k, v := range b.cfg.Labels {
		labels[k] = v
	}
	resp, err := b.cfg.Docker.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags: []string{tag}, Labels: labels, Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("zipimage: building %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := readProgress(resp.Body); err != nil {
		return "", fmt.Errorf("zipimage: building %s: %w", tag, err)
	}
	return tag, nil
}

// Prepare readies fn's code before its version is Active (the API's
// Prepare hook): a Zip function's image is built. A managed runtime with no
// mapping is not an error here (Lambda accepts the function; its invocations
// fail).
func (b *Builder) Prepare(ctx context.Context, fn invoke.Function, _ string) error {
	if fn.PackageType != "Zip" {
		return nil
	}
	_, err := b.Image(ctx, fn)
	var fe *envplan.FunctionError
	if errors.As(err, &fe) {
		return nil
	}
	return err
}

// Remove removes the images made of codeSha256's code.
func (b *Builder) Remove(ctx context.Context, codeSha256 string) error {
	list, err := b.cfg.Docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelCode+"="+codeSha256))})
	if err != nil {
		return err
	}
	var errs []error
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if _, err := b.cfg.Docker.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Context is the build context of fn's image: its Dockerfile and the zip's
// files under var/task. Entries that would leave /var/task are refused.
func Context(zr *zip.Reader, fn invoke.Function, base string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var dockerfile string
	if base == "" {
		dockerfile = "FROM scratch\nCOPY var /var\nCOPY tmp /tmp\nWORKDIR /var/task\nENTRYPOINT [\"/var/task/bootstrap\"]\n"
	} else {
		cmd, _ := json.Marshal([]string{fn.Handler})
		dockerfile = fmt.Sprintf("FROM %s\nCOPY var/task /var/task\nWORKDIR /var/task\nCMD %s\n", base, cmd)
	}
	write := func(h *tar.Header, data []byte) error {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := write(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg}, []byte(dockerfile)); err != nil {
		return nil, err
	}
	for _, d := range []string{"var/", "var/task/"} {
		if err := write(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}, nil); err != nil {
			return nil, err
		}
	}
	if err := write(&tar.Header{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir}, nil); err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		name := path.Clean(strings.TrimPrefix(f.Name, "./"))
		if path.IsAbs(f.Name) || name == ".." || strings.HasPrefix(name, "../") {
			return nil, fmt.Errorf("zipimage: %q leaves /var/task", f.Name)
		}
		if name == "." {
			continue
		}
		mode := f.Mode()
		h := &tar.Header{Name: "var/task/" + name, Mode: int64(mode.Perm()), ModTime: f.Modified}
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			if h.Mode == 0 {
				h.Mode = 0o755
			}
			if err := write(h, nil); err != nil {
				return nil, err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("zipimage: reading %s: %w", f.Name, err)
		}
		if mode&fs.ModeSymlink != 0 {
			h.Typeflag, h.Linkname = tar.TypeSymlink, string(data)
			if err := write(h, nil); err != nil {
				return nil, err
			}
			continue
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		if err := write(h, data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// readProgress reads a build's JSON messages to the end and returns the
// first error one carries.
func readProgress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// CodeSha256 is Lambda's CodeSha256 of a zip's bytes: base64 of SHA-256.
func CodeSha256(zipBytes []byte) string {
	sum := sha256.Sum256(zipBytes)
	return base64.StdEncoding.EncodeToString(sum[:])
}
