package hostpool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The command provisioner runs the user's command with the host in its
// environment.
func TestCommandProvisioner(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "pool.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv | grep ^BERTH_ | sort > \""+dir+"/$BERTH_POOL_ACTION-$BERTH_HOST_ID\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &Command{StartCommand: []string{script}, StopCommand: []string{script}}
	spec := HostSpec{ID: "h1", Cluster: "default", CPU: 4096, Memory: 8192, ControlPlane: "cp:7400", JoinToken: "tok",
		AvailabilityZone: "us-east-1a", InstanceType: "pool", Attributes: map[string]string{"berth.pool": "fargate", "berth.pool-host": "h1"}}
	if err := p.Start(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(t.Context(), "h1"); err != nil {
		t.Fatal(err)
	}
	started, _ := os.ReadFile(filepath.Join(dir, "start-h1"))
	for _, want := range []string{"BERTH_HOST_ID=h1", "BERTH_CLUSTER=default", "BERTH_HOST_CPU=4096", "BERTH_HOST_MEMORY=8192",
		"BERTH_CONTROL_PLANE=cp:7400", "BERTH_JOIN_TOKEN=tok", "BERTH_ATTRIBUTES=berth.pool-host=h1 berth.pool=fargate"} {
		if !strings.Contains(string(started), want+"\n") {
			t.Errorf("start environment lacks %s:\n%s", want, started)
		}
	}
	if stopped, _ := os.ReadFile(filepath.Join(dir, "stop-h1")); !strings.Contains(string(stopped), "BERTH_POOL_ACTION=stop") {
		t.Errorf("stop environment: %s", stopped)
	}
	bad := &Command{StartCommand: []string{"sh", "-c", "echo no capacity >&2; exit 3"}}
	if err := bad.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "no capacity") {
		t.Fatalf("failing start command: %v", err)
	}
}
