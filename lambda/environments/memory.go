package environments

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/client"
)

// MemoryMeter reads the peak memory of an environment's container, by its
// runtime (Docker) id, in bytes: Lambda's Max Memory Used.
type MemoryMeter interface {
	PeakBytes(ctx context.Context, containerID string) (int64, error)
}

// DockerMemory is the MemoryMeter of containers on the local Docker (where
// the environments run: they reach their Runtime API on this host's
// loopback). It reads the container's cgroup: memory.peak (cgroup v2) or
// memory.max_usage_in_bytes (v1), found once through the container's
// process (/proc/PID/cgroup; the control plane shares the host's process
// namespace with Docker); else Docker's one-shot stats (max_usage on cgroup
// v1, the usage now on v2, which keeps no peak there).
type DockerMemory struct {
	Docker *client.Client
	// Root is the cgroup file system ("/sys/fs/cgroup" when empty); Proc
	// the proc file system ("/proc").
	Root, Proc string

	mu    sync.Mutex
	files map[string]string // container id -> its peak file, "" when there is none
}

// PeakBytes implements MemoryMeter.
func (d *DockerMemory) PeakBytes(ctx context.Context, id string) (int64, error) {
	d.mu.Lock()
	file, known := d.files[id]
	d.mu.Unlock()
	if !known {
		file = d.peakFile(ctx, id)
		d.mu.Lock()
		if d.files == nil {
			d.files = map[string]string{}
		}
		if len(d.files) > 4096 { // containers come and go: forget the old ones
			clear(d.files)
		}
		d.files[id] = file
		d.mu.Unlock()
	}
	if file != "" {
		if b, err := os.ReadFile(file); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				return n, nil
			}
		}
	}
	return d.stats(ctx, id)
}

// peakFile finds the container's peak memory file in its cgroup, or "".
func (d *DockerMemory) peakFile(ctx context.Context, id string) string {
	root, proc := d.Root, d.Proc
	if root == "" {
		root = "/sys/fs/cgroup"
	}
	if proc == "" {
		proc = "/proc"
	}
	info, err := d.Docker.ContainerInspect(ctx, id)
	if err != nil || info.State == nil || info.State.Pid <= 0 {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(info.State.Pid), "cgroup"))
	if err != nil {
		return ""
	}
	return PeakFile(root, b)
}

// PeakFile is the peak memory file named by a process's /proc/PID/cgroup
// (its contents, cgroup), under the cgroup file system root: the v1 memory
// controller's memory.max_usage_in_bytes, else v2's memory.peak; "" when
// it does not exist.
func PeakFile(root string, cgroup []byte) string {
	var v1, v2 string
	sc := bufio.NewScanner(bytes.NewReader(cgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = filepath.Join(root, parts[2], "memory.peak")
		case contains(strings.Split(parts[1], ","), "memory"):
			v1 = filepath.Join(root, "memory", parts[2], "memory.max_usage_in_bytes")
		}
	}
	for _, f := range []string{v1, v2} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// stats reads Docker's one-shot stats of the container.
func (d *DockerMemory) stats(ctx context.Context, id string) (int64, error) {
	resp, err := d.Docker.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var s struct {
		MemoryStats struct {
			Usage    int64 `json:"usage"`
			MaxUsage int64 `json:"max_usage"`
		} `json:"memory_stats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return 0, fmt.Errorf("the stats of container %s: %w", id, err)
	}
	return max(s.MemoryStats.MaxUsage, s.MemoryStats.Usage), nil
}
