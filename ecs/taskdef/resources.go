package taskdef

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/ecs/ecserr"
)

// Task sizes: ECS takes task-level cpu as CPU units ("256") or vCPUs
// ("1 vCPU", "0.5 vcpu"), and memory as MiB ("512") or GB ("2 GB", "1GB"),
// units case-insensitive, and stores them as decimal CPU units and MiB.
// berth takes no other units ("512 MiB" is rejected), and a fraction must come
// out whole ("0.1 vCPU" is 102.4 units: rejected).
//
// Ranges: EC2 and EXTERNAL task cpu is 128-196608 units (0.125-192 vCPUs) as
// ECS documents; Fargate's table is stricter and replaces that range.
// Memory, task or container, is at least 6 MiB: the least Docker 20.10+ runs a
// container with.
const (
	minTaskCPU   = 128
	maxTaskCPU   = 196608
	minMemoryMiB = 6
)

var amount = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?|\.[0-9]+) *([A-Za-z]*)$`)

// parseAmount parses "<number> [unit]" where unit (lower-cased) is a key of
// scale, the empty unit included, and returns the whole number it makes.
// ok is false for garbage; whole is false for a fraction of the base unit.
func parseAmount(s string, scale map[string]int64) (n int, ok, whole bool) {
	m := amount.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false, false
	}
	factor, ok := scale[strings.ToLower(m[2])]
	if !ok || len(m[1]) > 20 {
		return 0, false, false
	}
	r, _ := new(big.Rat).SetString(m[1])
	r.Mul(r, new(big.Rat).SetInt64(factor))
	if !r.IsInt() {
		return 0, true, false
	}
	if !r.Num().IsInt64() || r.Num().Int64() > math.MaxInt32 {
		return math.MaxInt32, true, true // out of any range; the caller's bound rejects it
	}
	return int(r.Num().Int64()), true, true
}

var (
	cpuUnits    = map[string]int64{"": 1, "vcpu": 1024}
	memoryUnits = map[string]int64{"": 1, "gb": 1024}
)

// checkTaskSize parses and normalizes the task-level cpu and memory.
func (t *task) checkTaskSize() error {
	if s := t.td.Cpu; s != "" {
		n, ok, whole := parseAmount(s, cpuUnits)
		switch {
		case !ok:
			return ecserr.Field("cpu", `%q is not a CPU amount: give CPU units ("256") or vCPUs ("1 vCPU")`, clip(s))
		case !whole:
			return ecserr.Field("cpu", "%q is not a whole number of CPU units (1 vCPU = 1024)", s)
		}
		t.cpu, t.td.Cpu = n, strconv.Itoa(n)
	}
	if s := t.td.Memory; s != "" {
		n, ok, whole := parseAmount(s, memoryUnits)
		switch {
		case !ok:
			return ecserr.Field("memory", `%q is not a memory amount: give MiB ("512") or GB ("2 GB")`, clip(s))
		case !whole:
			return ecserr.Field("memory", "%q is not a whole number of MiB (1 GB = 1024 MiB)", s)
		case n < minMemoryMiB:
			return ecserr.Field("memory", "must be at least %d MiB, got %d", minMemoryMiB, n)
		}
		t.memory, t.td.Memory = n, strconv.Itoa(n)
	}
	return nil
}

// checkTaskCPURange applies the EC2/EXTERNAL range; Fargate has its table.
func (t *task) checkTaskCPURange() error {
	if t.cpu != 0 && !t.fargate && (t.cpu < minTaskCPU || t.cpu > maxTaskCPU) {
		return ecserr.Field("cpu", "must be %d to %d CPU units (0.125 to 192 vCPUs), got %d",
			minTaskCPU, maxTaskCPU, t.cpu)
	}
	return nil
}

// NormalizeOverrideSize checks a RunTask's task-level cpu and memory
// overrides as registration checks a task definition's, and writes them
// normalized into o ("1 vCPU" -> "1024"). On Fargate the size the task ends
// up with (each override, else the definition's) must be in Fargate's table.
// Errors name overrides.cpu or overrides.memory.
func NormalizeOverrideSize(td *berthv1.TaskDefinition, o *berthv1.TaskOverride, fargate bool) error {
	if o.GetCpu() == "" && o.GetMemory() == "" {
		return nil
	}
	t := &task{td: &berthv1.TaskDefinition{Cpu: o.GetCpu(), Memory: o.GetMemory()}, fargate: fargate}
	err := t.checkTaskSize()
	if err == nil {
		err = t.checkTaskCPURange()
	}
	if err != nil {
		return overrideError(err)
	}
	o.Cpu, o.Memory = t.td.Cpu, t.td.Memory
	if !fargate {
		return nil
	}
	sized := &task{td: proto.Clone(td).(*berthv1.TaskDefinition), fargate: true, cpu: t.cpu, memory: t.memory}
	if sized.cpu == 0 {
		sized.cpu, _ = strconv.Atoi(td.GetCpu())
	}
	if sized.memory == 0 {
		sized.memory, _ = strconv.Atoi(td.GetMemory())
	}
	if err := sized.checkFargate(); err != nil {
		return overrideError(err)
	}
	return nil
}

// overrideError names the override's member for an error about the task's.
func overrideError(err error) error {
	e := ecserr.From(err)
	return ecserr.Param("overrides."+e.Field, "%s", strings.TrimPrefix(e.Message, e.Field+": "))
}
