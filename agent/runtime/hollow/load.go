package hollow

import (
	"math"
	"sync/atomic"

	"github.com/berth/berth/agent/runtime"
)

var _ runtime.SyntheticLoader = (*Runtime)(nil)

// Load is the synthetic load a hollow instance reports for each of its
// running tasks: percentages of the CPU and memory the task reserves.
type Load struct {
	CPUPercent, MemoryPercent float64
}

// loadBits holds a Load as two float64 bit patterns, for SetLoad while the
// agent samples.
type loadBits struct{ cpu, mem atomic.Uint64 }

// SetLoad changes the load the instance reports from its next sample on.
func (r *Runtime) SetLoad(l Load) {
	r.load.cpu.Store(math.Float64bits(l.CPUPercent))
	r.load.mem.Store(math.Float64bits(l.MemoryPercent))
}

// SyntheticLoad implements runtime.SyntheticLoader.
func (r *Runtime) SyntheticLoad() (cpuPercent, memoryPercent float64) {
	return math.Float64frombits(r.load.cpu.Load()), math.Float64frombits(r.load.mem.Load())
}
