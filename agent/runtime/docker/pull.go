package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/berth/berth/agent/runtime"
)

// errNoRegistry is the cause of an offline runtime's pull failures.
var errNoRegistry = errors.New("not present locally and this runtime is offline (no registry)")

// Pull implements runtime.Runtime.
func (r *Runtime) Pull(ctx context.Context, ref string, policy runtime.PullPolicy) error {
	if ref == r.pauseImage() {
		return r.pullPause(ctx)
	}
	local, err := r.present(ctx, ref)
	if err != nil {
		return err
	}
	if local && (!policy.Pulls(local) || r.opts.Offline) {
		return nil
	}
	if r.opts.Offline {
		return runtime.CannotPull(ref, errNoRegistry)
	}
	err = r.pull(ctx, ref)
	if err != nil && policy.FallsBack(local) {
		return nil // ECS's default: fall back to the cached image
	}
	return err
}

// present reports whether image ref is in the daemon's store.
func (r *Runtime) present(ctx context.Context, ref string) (bool, error) {
	_, err := r.cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("docker inspect image %q: %w", ref, err)
}

// pull fetches ref from its registry; the daemon reports failures inside the progress
// stream, which must be read to the end.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	body, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return runtime.CannotPull(ref, err)
	}
	defer body.Close()
	if err := ReadProgress(body); err != nil {
		return runtime.CannotPull(ref, err)
	}
	return nil
}

// ReadProgress drains a daemon JSON progress stream (of a pull or an image build) and
// returns the error reported inside it: the daemon sends such errors with HTTP 200.
func ReadProgress(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
