package main

import (
	"flag"
	"strconv"
)

// stress stands in for amazon/amazon-ecs-stress in ECS's own test task definitions,
// which run it with ["-concurrency", "10", "-memory", "100"] under a smaller memory
// limit to get the container OOM-killed. Only the memory matters for that: it is
// allocated as alloc does, in MiB; the workers' count is accepted and ignored.
func stress(args []string) error {
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	memory := fs.Int("memory", 0, "MiB of memory to allocate and hold")
	fs.Int("concurrency", 1, "ignored")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *memory == 0 {
		sleepForever()
	}
	return alloc([]string{strconv.Itoa(*memory) + "M"})
}
