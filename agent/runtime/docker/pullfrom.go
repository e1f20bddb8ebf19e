package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"

	"github.com/berth/berth/agent/runtime"
)

// PullFrom implements runtime.SourcePuller: src.Ref is pulled with its
// credentials (even by an offline runtime: berth's registry is berth's own)
// and tagged as ref.
func (r *Runtime) PullFrom(ctx context.Context, ref string, src runtime.Source, policy runtime.PullPolicy) error {
	local, err := r.present(ctx, ref)
	if err != nil {
		return err
	}
	if !policy.Pulls(local) {
		return nil
	}
	err = r.pullAuth(ctx, ref, src)
	if err != nil && policy.FallsBack(local) {
		return nil // ECS's default: fall back to the cached image
	}
	return err
}

func (r *Runtime) pullAuth(ctx context.Context, ref string, src runtime.Source) error {
	auth, err := json.Marshal(map[string]string{
		"username": src.User, "password": src.Password, "serveraddress": serverAddress(src.Ref),
	})
	if err != nil {
		return runtime.CannotPull(ref, err)
	}
	body, err := r.cli.ImagePull(ctx, src.Ref, image.PullOptions{RegistryAuth: base64.URLEncoding.EncodeToString(auth)})
	if err != nil {
		return runtime.CannotPull(ref, err)
	}
	defer body.Close()
	if err := ReadProgress(body); err != nil {
		return runtime.CannotPull(ref, err)
	}
	if err := r.cli.ImageTag(ctx, src.Ref, ref); err != nil {
		return runtime.CannotPull(ref, fmt.Errorf("naming %s as %s: %w", src.Ref, ref, err))
	}
	return nil
}

// serverAddress is the registry ref is pulled from, as Docker's auth names
// it: host[:port], or Docker Hub's index for an image of Docker Hub
// (busybox, user/app).
func serverAddress(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return strings.SplitN(ref, "/", 2)[0]
	}
	if domain := reference.Domain(named); domain != "docker.io" {
		return domain
	}
	return "https://index.docker.io/v1/"
}
