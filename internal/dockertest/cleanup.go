package dockertest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
)

// Name returns a unique name for a test's container or network.
func Name(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "berth-test-" + prefix + "-" + hex.EncodeToString(b)
}

// RemoveContainerOnCleanup force-removes container id (with its anonymous volumes) when
// t ends, whatever the outcome.
func RemoveContainerOnCleanup(t testing.TB, cli *client.Client, id string) {
	t.Cleanup(func() {
		ctx, cancel := Context()
		defer cancel()
		err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove container %s: %v", id, err)
		}
	})
}

// RemoveImageOnCleanup removes the name ref when t ends, whatever the outcome: the
// image goes with it unless another name still names it. For images a test has berth
// make under a name of the test's own.
func RemoveImageOnCleanup(t testing.TB, cli *client.Client, ref string) {
	t.Cleanup(func() {
		ctx, cancel := Context()
		defer cancel()
		if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove image %s: %v", ref, err)
		}
	})
}

// Network creates a labelled bridge network for t and removes it when t ends.
func Network(t testing.TB, cli *client.Client) string {
	t.Helper()
	ctx, cancel := Context()
	defer cancel()
	name := Name("net")
	resp, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: Labels(nil)})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := Context()
		defer cancel()
		if err := cli.NetworkRemove(ctx, resp.ID); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return name
}
