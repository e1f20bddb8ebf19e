package main

import (
	"math/rand/v2"

	"github.com/berth/berth/scheduler"
)

// config is one benchmark run.
type config struct {
	instances, tasks, zones     int
	instanceCPU, instanceMemory int64
	workload                    string
	strategies                  []scheduler.Strategy
	seed                        uint64
}

// workloads draw one task's size. uniform, correlated and anticorrelated are written
// for a 16 vCPU / 64 GiB instance and scaled to the instance size (generate), so that
// they are as hard on any instance; ecs is Fargate's absolute sizes.
var workloads = map[string]func(rng *rand.Rand, c config) scheduler.Resources{
	// uniform: CPU and memory drawn independently, 0.125-2 vCPU and 0.25-8 GiB.
	"uniform": func(rng *rand.Rand, _ config) scheduler.Resources {
		return scheduler.Resources{CPU: 128 * (1 + rng.Int64N(16)), Memory: 256 * (1 + rng.Int64N(32))}
	},
	// correlated: big CPU with big memory, 4 GiB per vCPU give or take a quarter.
	"correlated": func(rng *rand.Rand, _ config) scheduler.Resources {
		s := 1 + rng.Int64N(16)
		return scheduler.Resources{CPU: 128 * s, Memory: 512*s + 128*(rng.Int64N(s+1)-s/2)}
	},
	// anticorrelated: half CPU-heavy (1-4 vCPU, 0.25-2 GiB), half memory-heavy
	// (0.125-0.5 vCPU, 4-16 GiB).
	"anticorrelated": func(rng *rand.Rand, _ config) scheduler.Resources {
		if rng.IntN(2) == 0 {
			return scheduler.Resources{CPU: 1024 + 256*rng.Int64N(13), Memory: 256 * (1 + rng.Int64N(8))}
		}
		return scheduler.Resources{CPU: 128 * (1 + rng.Int64N(4)), Memory: 4096 + 512*rng.Int64N(25)}
	},
	// ecs: the Fargate task sizes, each of the 74 pairs (those that fit an instance)
	// equally likely.
	"ecs": func(rng *rand.Rand, c config) scheduler.Resources {
		pairs := fargatePairs(c)
		return pairs[rng.IntN(len(pairs))]
	},
}

// fargatePairs lists ECS's Fargate cpu:memory combinations that fit the instance.
func fargatePairs(c config) []scheduler.Resources {
	table := []struct{ cpu, from, to, step int64 }{
		{256, 512, 512, 1}, {256, 1024, 2048, 1024}, {512, 1024, 4096, 1024},
		{1024, 2048, 8192, 1024}, {2048, 4096, 16384, 1024}, {4096, 8192, 30720, 1024},
		{8192, 16384, 61440, 4096}, {16384, 32768, 122880, 8192},
	}
	var out []scheduler.Resources
	for _, row := range table {
		for mem := row.from; mem <= row.to; mem += row.step {
			if row.cpu <= c.instanceCPU && mem <= c.instanceMemory {
				out = append(out, scheduler.Resources{CPU: row.cpu, Memory: mem})
			}
		}
	}
	return out
}

// generate draws the run's tasks; they arrive in the order drawn, which is random.
func generate(c config) []scheduler.Resources {
	rng := rand.New(rand.NewPCG(c.seed, 0))
	draw := workloads[c.workload]
	tasks := make([]scheduler.Resources, c.tasks)
	for i := range tasks {
		tasks[i] = draw(rng, c)
		if c.workload != "ecs" {
			tasks[i].CPU = tasks[i].CPU * c.instanceCPU / 16384
			tasks[i].Memory = tasks[i].Memory * c.instanceMemory / 65536
		}
	}
	return tasks
}
