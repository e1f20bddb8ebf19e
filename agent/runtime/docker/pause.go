package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/client"

	"github.com/berth/berth/agent/pause"
	"github.com/berth/berth/agent/runtime"
)

// pauseImage is the reference of berth's own pause image on this runtime.
func (r *Runtime) pauseImage() string {
	if r.opts.PauseImage != "" {
		return r.opts.PauseImage
	}
	return pause.Image
}

// pullPause is Pull for berth's own pause image: it is made here, never pulled, under
// every policy and offline too.
func (r *Runtime) pullPause(ctx context.Context) error {
	if err := r.EnsurePauseImage(ctx); err != nil {
		return runtime.CannotPull(r.pauseImage(), err)
	}
	return nil
}

// EnsurePauseImage makes berth's own pause image (Options.PauseImage) present: when
// the daemon lacks it, it loads the image that package pause makes for the daemon's
// architecture. It never contacts a registry. Concurrent calls on one Runtime load it
// once; runtimes in other processes may load it too, harmlessly, as the same program
// always makes the same image.
func (r *Runtime) EnsurePauseImage(ctx context.Context) error {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	ref := r.pauseImage()
	if ok, err := r.present(ctx, ref); err != nil || ok {
		return err
	}
	arch, err := r.daemonArch(ctx)
	if err != nil {
		return err
	}
	archive, err := pause.Archive(ref, arch, r.opts.PauseImageLabels)
	if err != nil {
		return err
	}
	return r.load(ctx, ref, archive)
}

// daemonArch is the daemon's architecture as a GOARCH name ("amd64", "arm64"): the
// architecture of the containers it runs, which need not be the agent's.
func (r *Runtime) daemonArch(ctx context.Context) (string, error) {
	v, err := r.cli.ServerVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("docker version: %w", err)
	}
	return v.Arch, nil
}

// load loads archive, a `docker save` archive of image ref, into the daemon.
func (r *Runtime) load(ctx context.Context, ref string, archive []byte) error {
	resp, err := r.cli.ImageLoad(ctx, bytes.NewReader(archive), client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("docker load %s: %w", ref, err)
	}
	defer resp.Body.Close()
	if !resp.JSON {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		err = ReadProgress(resp.Body)
	}
	if err != nil {
		return fmt.Errorf("docker load %s: %w", ref, err)
	}
	return nil
}
