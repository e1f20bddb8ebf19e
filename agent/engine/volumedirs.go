package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berth/berth/agent/runtime"
)

// makeVolumeDirs makes task-scoped volume directories (the edge of volumes.go). The
// directories above them stay private to the agent (0700); a volume itself is
// world-writable, so that a container running as any user can write to it, while no
// other user of the host can reach it.
func makeVolumeDirs(dirs []string) error {
	for _, dir := range dirs {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return fmt.Errorf("task volume: %w", err)
		}
		err := os.Mkdir(dir, 0o777)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = os.Chmod(dir, 0o777) // past the umask
		}
		if err != nil {
			return fmt.Errorf("task volume: %w", err)
		}
	}
	return nil
}

// sweepVolumes removes the volumes directories of tasks that have no container in the
// runtime: what an engine stopped between removing a task's containers and removing
// its volumes left behind.
func (e *Engine) sweepVolumes(byTask map[string][]runtime.ContainerSummary) {
	if e.opts.VolumesDir == "" {
		return
	}
	entries, err := os.ReadDir(e.opts.VolumesDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			e.opts.Logger.Warn("cannot list task volumes", "dir", e.opts.VolumesDir, "err", err)
		}
		return
	}
	live := make(map[string]bool, len(byTask))
	for arn := range byTask {
		live[taskID(arn)] = true
	}
	for _, entry := range entries {
		if entry.IsDir() && !live[entry.Name()] {
			e.removeVolumes([]string{filepath.Join(e.opts.VolumesDir, entry.Name())})
		}
	}
}

// removeVolumes removes a task's volumes directory with everything its containers
// wrote there. What cannot be removed is logged and left.
func (e *Engine) removeVolumes(dirs []string) {
	for _, dir := range dirs {
		if err := os.RemoveAll(dir); err != nil {
			e.opts.Logger.Warn("cannot remove task volumes", "dir", dir, "err", err)
		}
	}
}
