package taskdef

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/ecs/ecserr"
)

// fargateSize is one row of Fargate's task size table: a cpu value and the
// memory values (MiB) that go with it.
type fargateSize struct {
	cpu    int
	memory []int
}

// fargateSizes is ECS's Fargate task size table: 74 cpu/memory pairs.
var fargateSizes = []fargateSize{
	{256, []int{512, 1024, 2048}},
	{512, steps(1024, 4096, 1024)},
	{1024, steps(2048, 8192, 1024)},
	{2048, steps(4096, 16384, 1024)},
	{4096, steps(8192, 30720, 1024)},
	{8192, steps(16384, 61440, 4096)},
	{16384, steps(32768, 122880, 8192)},
}

// steps returns from, from+step, ..., to.
func steps(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// ECS's own error texts for Fargate, word for word (the ECS Developer
// Guide's "Invalid CPU or memory value specified" troubleshooting page quotes
// the last two), the message of each error; berth's rule is its detail.
const (
	fargateNetworkMode = "Fargate only supports network mode 'awsvpc'."
	fargateNeedsCPU    = "Fargate requires that 'cpu' be defined at the task level."
	fargateNeedsMemory = "Fargate requires that 'memory' be defined at the task level."
	fargateBadCPU      = "Invalid 'cpu' setting for task."
	fargateBadMemory   = "No Fargate configuration exists for given values."
)

// checkFargate applies the rules of a task definition that lists FARGATE,
// even beside EC2: awsvpc, and a task size from the table. Other launch types
// get the EC2 cpu range instead.
func (t *task) checkFargate() error {
	if !t.fargate {
		return t.checkTaskCPURange()
	}
	switch {
	case t.td.NetworkMode != "awsvpc":
		return ecserr.Field("networkMode", "must be awsvpc with FARGATE, got %q", t.td.NetworkMode).Says(fargateNetworkMode)
	case t.cpu == 0:
		return ecserr.Field("cpu", "required at the task level with FARGATE").Says(fargateNeedsCPU)
	case t.memory == 0:
		return ecserr.Field("memory", "required at the task level with FARGATE").Says(fargateNeedsMemory)
	}
	i := slices.IndexFunc(fargateSizes, func(s fargateSize) bool { return s.cpu == t.cpu })
	if i < 0 {
		return ecserr.Field("cpu", "Fargate takes %s CPU units, got %d", fargateCPUs(), t.cpu).Says(fargateBadCPU)
	}
	if !slices.Contains(fargateSizes[i].memory, t.memory) {
		return ecserr.Field("memory", "with cpu %d Fargate takes memory %s MiB, got %d",
			t.cpu, describeSizes(fargateSizes[i].memory), t.memory).Says(fargateBadMemory)
	}
	return nil
}

func fargateCPUs() string {
	var cpus []int
	for _, s := range fargateSizes {
		cpus = append(cpus, s.cpu)
	}
	return orList(cpus)
}

// describeSizes writes a list of sizes as "512, 1024 or 2048", or as
// "1024 to 4096 in steps of 1024" when it is long and evenly spaced.
func describeSizes(sizes []int) string {
	if n := len(sizes); n > 3 {
		step := sizes[1] - sizes[0]
		if sizes[n-1]-sizes[0] == step*(n-1) {
			return fmt.Sprintf("%d to %d in steps of %d", sizes[0], sizes[n-1], step)
		}
	}
	return orList(sizes)
}

func orList(values []int) string {
	texts := make([]string, len(values))
	for i, v := range values {
		texts[i] = strconv.Itoa(v)
	}
	if len(texts) == 1 {
		return texts[0]
	}
	return strings.Join(texts[:len(texts)-1], ", ") + " or " + texts[len(texts)-1]
}
