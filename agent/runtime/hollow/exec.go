package hollow

import (
	"context"
	"fmt"

	"github.com/berth/berth/agent/runtime"
)

var _ runtime.Execer = (*Runtime)(nil)

// Exec implements runtime.Execer honestly: a hollow container is simulated
// and runs no processes, so there is nothing to run a command in. It says so
// for a container it knows, and ErrNotFound for one it does not.
func (r *Runtime) Exec(ctx context.Context, id string, spec runtime.ExecSpec, _ runtime.ExecIO) (int, error) {
	r.mu.Lock()
	c, err := r.lookup(id)
	name := ""
	if c != nil {
		name = c.spec.Name
	}
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("container %s is hollow (simulated, on an agent with --runtime hollow): it runs no processes, so %q cannot run in it", name, spec.Command)
}
