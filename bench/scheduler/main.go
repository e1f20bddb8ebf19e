// Command scheduler benchmarks berth's placement engine: it registers a cluster of
// identical instances spread over availability zones, places tasks one request at a
// time (online, in random order, as a service controller or RunTask would) and prints
// one JSON object with speed and packing quality:
//
//	go run ./bench/scheduler -instances 10000 -tasks 100000 \
//	    -strategy '[{"type":"binpack","field":"memory"}]' -workload ecs -seed 1
//
// With -seeds K it runs seeds S..S+K-1 and prints the mean of every number. Unless
// -baseline is empty, it also places the same tasks with the baseline strategy (ECS's
// binpack(memory)) and prints its packing numbers beside.
//
// Instances default to 64 vCPU and 256 GiB, the smallest common host that runs every
// Fargate size (up to 16 vCPU and 120 GiB): on a 16 vCPU host the largest Fargate tasks
// each take a whole host, and no strategy can come near the lower bound.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/berth/berth/scheduler"
)

func main() {
	cfg := config{}
	flag.IntVar(&cfg.instances, "instances", 10000, "container instances in the cluster")
	flag.IntVar(&cfg.tasks, "tasks", 100000, "tasks to place, one request each")
	strategy := flag.String("strategy", `[{"type":"binpack","field":"memory"}]`, "placement strategies, as ECS's JSON list")
	baseline := flag.String("baseline", `[{"type":"binpack","field":"memory"}]`, "strategies to compare packing with; empty for none")
	flag.StringVar(&cfg.workload, "workload", "uniform", "task sizes: uniform, correlated, anticorrelated or ecs")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the workload and of random placement")
	seeds := flag.Int("seeds", 1, "run this many seeds from -seed and print means")
	flag.Int64Var(&cfg.instanceCPU, "instance-cpu", 65536, "each instance's CPU units (m5.16xlarge: 64 vCPU)")
	flag.Int64Var(&cfg.instanceMemory, "instance-mem", 262144, "each instance's memory in MiB (m5.16xlarge: 256 GiB)")
	flag.IntVar(&cfg.zones, "zones", 3, "availability zones the instances are spread over")
	flag.Parse()

	if err := run(cfg, *strategy, *baseline, *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scheduler:", err)
		os.Exit(2)
	}
}

func run(cfg config, strategy, baseline string, seeds int) error {
	var err error
	if cfg.strategies, err = scheduler.ParseStrategies([]byte(strategy)); err != nil {
		return fmt.Errorf("-strategy: %w", err)
	}
	if _, ok := workloads[cfg.workload]; !ok {
		return fmt.Errorf("-workload %q: want uniform, correlated, anticorrelated or ecs", cfg.workload)
	}
	if cfg.instances <= 0 || cfg.tasks <= 0 || seeds <= 0 {
		return fmt.Errorf("-instances, -tasks and -seeds must be positive")
	}
	out := report{Instances: cfg.instances, Tasks: cfg.tasks, Workload: cfg.workload, Strategy: strategy, Seeds: seeds}
	var base []scheduler.Strategy
	if baseline != "" {
		if base, err = scheduler.ParseStrategies([]byte(baseline)); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
		out.Baseline = &packing{Strategy: baseline}
	}
	for k := range seeds {
		c := cfg
		c.seed += uint64(k)
		tasks := generate(c)
		out.add(measure(c, tasks), seeds)
		if out.Baseline != nil {
			c.strategies = base
			out.Baseline.add(measure(c, tasks).packing, seeds)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
