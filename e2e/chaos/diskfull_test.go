package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// mountTmpfs mounts a tmpfs of size on a new directory, or skips the test
// where that cannot be done (not root, no mount in this sandbox).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("a full disk needs a tmpfs, and mounting one needs root")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount -t tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return dir
}

// TestDiskFull: the state file's disk fills up while clients write. Writes
// then fail with an error that says so, nothing acknowledged is lost, and
// once there is room again the control plane takes writes again (and after
// a kill -9 and a restart, everything acknowledged is there).
func TestDiskFull(t *testing.T) {
	bin := controlPlaneBinary(t)
	mnt := mountTmpfs(t, "3m")
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Bin: bin, DataDir: filepath.Join(mnt, "data"), GRPCAddr: addr}
	if err := cp.Start(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	defer cp.Kill()
	cl, err := cp.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	register := func(i int) (int32, error) {
		c, cancel := context.WithTimeout(cl.Ctx(ctx), 30*time.Second)
		defer cancel()
		res, err := cl.RegisterTaskDefinition(c, &berthv1.RegisterTaskDefinitionRequest{Family: "full",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(16),
				Command: []string{fmt.Sprintf("%d", i), strings.Repeat("x", 4000)}}}})
		if err != nil {
			return 0, err
		}
		return res.TaskDefinition.Revision, nil
	}
	var acked []int32
	var full error
	for i := range 5000 {
		rev, err := register(i)
		if err != nil {
			full = err
			break
		}
		acked = append(acked, rev)
	}
	if full == nil {
		t.Fatalf("5000 registrations fit in a 3 MiB tmpfs")
	}
	t.Logf("%d registrations acknowledged before the disk filled; then: %v", len(acked), full)
	if !strings.Contains(full.Error(), "no space left on device") {
		t.Errorf("a write on a full disk failed with %q; want it to say no space is left", full)
	}
	// Every acknowledged registration reads back while the disk is full.
	check := func(when string) {
		t.Helper()
		for _, rev := range acked {
			c, cancel := context.WithTimeout(cl.Ctx(ctx), 30*time.Second)
			_, err := cl.DescribeTaskDefinition(c, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: fmt.Sprintf("full:%d", rev)})
			cancel()
			if err != nil {
				t.Fatalf("%s: acknowledged full:%d lost: %v", when, rev, err)
			}
		}
	}
	check("disk full")

	// Room again: writes succeed, without a restart.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	var rev int32
	err = poll(ctx, time.Minute, func() error {
		var err error
		rev, err = register(-1)
		return err
	})
	if err != nil {
		t.Fatalf("no write succeeds within a minute of the disk having room again: %v\n%s", err, cp.Logs())
	}
	acked = append(acked, rev)
	check("room again")

	// And the file is whole: kill -9, check, restart, all there.
	cp.Kill()
	if err := CheckStateFile(filepath.Join(cp.DataDir, "state.db")); err != nil {
		t.Fatal(err)
	}
	if err := cp.Start(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	check("after a restart")
	t.Logf("chaos: disk full: %d acknowledged writes, 0 lost", len(acked))
}
