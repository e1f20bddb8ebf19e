// Command testapp is the program inside berth's test image: one static binary that
// plays every container a test needs. It is also installed as /bin/sh, where it runs
// `sh -c "testapp ARGS"` so that CMD-SHELL health checks work in an image without a
// shell; it splits the line on spaces and understands nothing else of shell syntax.
//
//	testapp sleep [DURATION]        run until stopped, or for DURATION then exit 0
//	testapp exit CODE [DURATION]    exit with CODE, after DURATION if given
//	testapp serve ADDR              answer HTTP 200 "ok" on ADDR (e.g. :8080) until stopped, with
//	                                header X-Testapp-Host: the hostname
//	testapp alloc SIZE              allocate and touch SIZE of memory (100M, 1G), then sleep
//	testapp trap-sigterm DURATION   trap SIGTERM, then create /tmp/sigterm-trapped; on SIGTERM
//	                                print "SIGTERM received" and exit 0 after DURATION
//	testapp health URL              exit 0 if GET URL answers 200, else 1 (for health checks)
//	testapp exists PATH             exit 0 if PATH exists, else 1 (for health checks)
//	testapp lines N [INTERVAL]      print "line 1" to "line N" on stdout, one every INTERVAL
//	                                (all at once without one), then run until stopped
//	testapp inside [VAR...]         print one JSON line (InsideReport) of what a program in a
//	                                task finds: ${ECS_CONTAINER_METADATA_URI_V4} and /task, its
//	                                credentials through aws-sdk-go-v2's default chain, the
//	                                variables named; then run until stopped
//	testapp load N CONC URL [AUTH]  GET URL N times, CONC at a time (Authorization: AUTH), and
//	                                print a LoadReport line: requests/s, p50 and p99
//	testapp stress [-memory MB] [-concurrency N]
//	                                the flags of amazon/amazon-ecs-stress, which ECS's own
//	                                test task definitions pass: allocate and touch MB MiB,
//	                                then sleep; -concurrency is accepted and ignored
//
// runtime/hollow simulates these same commands without running anything.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	args := os.Args[1:]
	if filepath.Base(os.Args[0]) == "sh" {
		args = shellArgs(args)
	}
	if len(args) == 0 {
		args = []string{"sleep"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fail(fmt.Errorf("unknown command %q", args[0]))
	}
	if err := cmd(args[1:]); err != nil {
		fail(err)
	}
}

// commands maps a subcommand to its function; a function that returns has succeeded.
var commands = map[string]func(args []string) error{
	"sleep":        sleep,
	"exit":         exit,
	"serve":        serve,
	"alloc":        alloc,
	"trap-sigterm": trapSIGTERM,
	"health":       health,
	"exists":       exists,
	"stress":       stress,
	"lines":        lines,
	"inside":       inside,
	"load":         load,
}

// TrappedFile is created by trap-sigterm once SIGTERM is trapped: a container stopped
// earlier would die of the signal instead.
const TrappedFile = "/tmp/sigterm-trapped"

// shellArgs turns `-c "testapp a b"` into [a b].
func shellArgs(args []string) []string {
	if len(args) != 2 || args[0] != "-c" {
		fail(fmt.Errorf("sh: only -c COMMAND is supported, got %q", args))
	}
	fields := strings.Fields(args[1])
	if len(fields) > 0 && filepath.Base(fields[0]) == "testapp" {
		fields = fields[1:]
	}
	return fields
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "testapp:", err)
	os.Exit(1)
}
