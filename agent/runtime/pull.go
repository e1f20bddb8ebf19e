package runtime

import (
	"context"
	"fmt"
)

// PullPolicy says when Pull contacts a registry. The values are those of the ECS
// agent's ECS_IMAGE_PULL_BEHAVIOR.
type PullPolicy string

const (
	// PullDefault pulls the image; if the pull fails, a locally cached image is used.
	PullDefault PullPolicy = "default"
	// PullAlways pulls the image and fails if the pull fails, cached or not.
	PullAlways PullPolicy = "always"
	// PullOnce pulls an image the first time it is needed and never again; an image
	// already present locally counts as pulled.
	PullOnce PullPolicy = "once"
	// PullPreferCached uses a locally present image and pulls only a missing one.
	PullPreferCached PullPolicy = "prefer-cached"
)

// ParsePullPolicy reads an ECS_IMAGE_PULL_BEHAVIOR value; "" means PullDefault.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case "":
		return PullDefault, nil
	case PullDefault, PullAlways, PullOnce, PullPreferCached:
		return p, nil
	}
	return "", fmt.Errorf("pull policy %q: want default, always, once or prefer-cached", s)
}

// UsesCache reports whether policy accepts a locally present image without pulling.
func (p PullPolicy) UsesCache() bool {
	return p == PullOnce || p == PullPreferCached
}

// Pulls reports whether an image is pulled from its registry under the
// policy, given whether it is present locally: always unless it is present
// and the policy takes a cached image (once, prefer-cached).
func (p PullPolicy) Pulls(local bool) bool { return !local || !p.UsesCache() }

// FallsBack reports whether a failed pull is forgiven and the locally
// present image used: only under ECS's default, and only with an image to
// use.
func (p PullPolicy) FallsBack(local bool) bool { return local && (p == PullDefault || p == "") }

// Source is where an image comes from when it is not pulled under its own name:
// berth's registry, which the task definition names by the account's ECR host.
type Source struct {
	// Ref is the reference to pull (127.0.0.1:7481/web:v1).
	Ref string
	// User and Password are the registry's credentials.
	User, Password string
}

// SourcePuller is a Runtime that can pull an image from a Source: it pulls
// src.Ref with the credentials and gives the image the name image, so that
// containers are created from image as the task definition names it. Policy
// applies as for Pull, by image's local presence.
type SourcePuller interface {
	PullFrom(ctx context.Context, image string, src Source, policy PullPolicy) error
}
