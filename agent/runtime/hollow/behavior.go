package hollow

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/berth/berth/agent/runtime"
)

// behavior is what a container's command makes it do (see the package doc).
type behavior struct {
	exits     bool // exits by itself, exitAfter after start, with exitCode
	exitAfter time.Duration
	exitCode  int
	allocMiB  int64 // memory it touches at start
	trapsTerm bool  // handles SIGTERM, exiting 0 termGrace later
	termGrace time.Duration
}

// parseBehavior reads the testapp vocabulary from argv; what it does not know runs
// until stopped.
func parseBehavior(argv []string) behavior {
	argv = testappArgs(argv)
	var b behavior
	if len(argv) == 0 {
		return b
	}
	arg := func(i int) string {
		if i < len(argv) {
			return argv[i]
		}
		return ""
	}
	switch argv[0] {
	case "sleep":
		b.exitAfter, b.exits = duration(arg(1))
	case "exit":
		code, err := strconv.Atoi(arg(1))
		b.exits, b.exitCode = err == nil, code
		b.exitAfter, _ = duration(arg(2))
	case "alloc":
		b.allocMiB = sizeMiB(arg(1))
	case "trap-sigterm":
		b.termGrace, b.trapsTerm = duration(arg(1))
	}
	return b
}

// probePasses reports whether a health check command passes: only "exit CODE" with a
// CODE other than 0 fails.
func probePasses(test []string) bool {
	if len(test) > 0 && test[0] == "CMD-SHELL" {
		test = append([]string{"CMD"}, strings.Fields(strings.Join(test[1:], " "))...)
	}
	if len(test) > 0 && test[0] == "CMD" {
		test = test[1:]
	}
	b := parseBehavior(test)
	return !b.exits || b.exitCode == 0
}

// testappArgs drops a leading testapp path from argv.
func testappArgs(argv []string) []string {
	if len(argv) > 0 && filepath.Base(argv[0]) == "testapp" {
		return argv[1:]
	}
	return argv
}

func duration(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// sizeMiB reads "100M", "1G", "512K" or bytes, rounded up to MiB; garbage is 0.
func sizeMiB(s string) int64 {
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0
	}
	return (n + 1<<20 - 1) >> 20
}

// argv is the command a spec runs: entryPoint then command.
func argv(spec runtime.ContainerSpec) []string {
	return append(append([]string{}, spec.EntryPoint...), spec.Command...)
}
