package taskdef

import (
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// checkContainerResources checks container i's cpu, memory and
// memoryReservation on their own and against the task-level size.
func (t *task) checkContainerResources(i int, c *berthv1.ContainerDefinition) error {
	if c.Cpu < 0 {
		return ecserr.Field(cpath(i, "cpu"), "must not be negative, got %d", c.Cpu)
	}
	if c.Memory != nil && *c.Memory < minMemoryMiB {
		return ecserr.Field(cpath(i, "memory"), "must be at least %d MiB, got %d", minMemoryMiB, *c.Memory)
	}
	if c.MemoryReservation != nil && *c.MemoryReservation < minMemoryMiB {
		return ecserr.Field(cpath(i, "memoryReservation"), "must be at least %d MiB, got %d",
			minMemoryMiB, *c.MemoryReservation)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation >= *c.Memory {
		return ecserr.Field(cpath(i, "memoryReservation"), "must be less than memory (%d MiB), got %d",
			*c.Memory, *c.MemoryReservation)
	}
	if t.memory == 0 && c.Memory == nil && c.MemoryReservation == nil {
		return ecserr.Field(cpath(i, "memory"),
			"memory or memoryReservation is required when the task sets no memory").Says(ecserr.TextContainerNoMemory(c.Name))
	}
	if t.memory != 0 && c.Memory != nil && int(*c.Memory) > t.memory {
		return ecserr.Field(cpath(i, "memory"), "%d MiB is more than the task memory %d MiB",
			*c.Memory, t.memory)
	}
	return nil
}

// reservedMemory is what the container reserves on an instance: its
// memoryReservation if set, else its memory, else nothing of its own.
func reservedMemory(c *berthv1.ContainerDefinition) int {
	switch {
	case c.MemoryReservation != nil:
		return int(*c.MemoryReservation)
	case c.Memory != nil:
		return int(*c.Memory)
	}
	return 0
}

// checkResourceSums checks that the containers together fit in the task-level
// cpu and memory, when those are set.
func (t *task) checkResourceSums() error {
	var cpu, memory int
	for _, c := range t.td.ContainerDefinitions {
		cpu += int(c.Cpu)
		memory += reservedMemory(c)
	}
	if t.memory != 0 && memory > t.memory {
		return ecserr.Field("memory", "the containers reserve %d MiB in all, more than the task memory %d MiB",
			memory, t.memory)
	}
	if t.cpu != 0 && cpu > t.cpu {
		return ecserr.Field("cpu", "the containers reserve %d CPU units in all, more than the task cpu %d",
			cpu, t.cpu)
	}
	return nil
}
