package environments_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth/berth/lambda/environments"
)

// PeakFile finds the peak memory file of a process's cgroup: cgroup v1's
// memory controller, else v2's unified hierarchy; none when neither exists.
func TestPeakFile(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("1048576\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v1 := write("memory/docker/abc/memory.max_usage_in_bytes")
	v2 := write("system.slice/docker-def.scope/memory.peak")
	for _, tc := range []struct{ cgroup, want string }{
		{"12:pids:/docker/abc\n9:memory:/docker/abc\n0::/docker/abc\n", v1},
		{"0::/system.slice/docker-def.scope\n", v2},
		{"4:cpu,memory:/docker/abc\n", v1},
		{"0::/system.slice/docker-none.scope\n", ""},
		{"", ""},
	} {
		if got := environments.PeakFile(root, []byte(tc.cgroup)); got != tc.want {
			t.Errorf("PeakFile(%q) = %q, want %q", tc.cgroup, got, tc.want)
		}
	}
}
