// Package pause is berth's own pause image: the image of the container that holds an
// awsvpc (and so every Fargate) task's network namespace. The ECS agent ships its pause
// image inside itself and loads it at start; berth does the same, so that a machine
// that reaches no registry runs awsvpc tasks. Nothing here is a committed binary: the
// program is a few machine instructions written out below as bytes, each with its
// assembly, and wrapped here in a minimal static ELF; the image is a `docker save`
// archive made from it in memory, which the Docker runtime loads when the image is
// absent (agent/runtime/docker).
//
// The program, as PID 1 of its container:
//
//   - sets SIGCHLD to SIG_IGN, so that the kernel reaps at once any process that ends
//     up its child (orphans of the namespace are reparented to PID 1) and no zombie
//     stays;
//   - blocks SIGINT and SIGTERM and waits for one with rt_sigtimedwait, then exits 0.
//     The kernel drops signals sent to a namespace's PID 1 whose disposition is the
//     default, but never a blocked one, so `docker stop` ends the container at once
//     with status 0 rather than waiting to SIGKILL it (137);
//   - exits 1 if it cannot set either up.
//
// It is written for amd64 and arm64 (Program); other architectures have no program, and
// an agent there must be given a pause image.
package pause

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Repository is the repository of berth's pause image.
const Repository = "berth/pause"

// LabelImage (berth.image=pause) marks berth's pause image as berth's own runtime image:
// it is not a test's and stays.
const LabelImage = "berth.image"

// Image is berth's pause image reference, berth/pause:<version>, where the version is
// a hash of the images of every architecture: a changed program or image config is a
// new tag, so an image loaded by an older berth is never mistaken for this one.
var Image = Repository + ":" + version()

// Arches are the architectures (GOARCH names, as Docker reports them) that have a
// pause program.
var Arches = []string{"amd64", "arm64"}

// Program returns the pause program for arch (a GOARCH name) as a static Linux ELF
// executable.
func Program(arch string) ([]byte, error) {
	switch arch {
	case "amd64":
		return executable(amd64Machine, amd64Code()), nil
	case "arm64":
		return executable(arm64Machine, arm64Code()), nil
	}
	return nil, fmt.Errorf("berth's pause program is written for %v only, not %q: configure a pause image", Arches, arch)
}

// version hashes the configs of the images of every architecture (an image config
// names its layer by its hash, so this covers the program too).
func version() string {
	h := sha256.New()
	for _, arch := range Arches {
		img, err := newImage(arch, nil)
		if err != nil {
			panic(err) // Arches all have programs
		}
		h.Write(img.config)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
