// Command berth is the berth CLI: ECS's operations named and flagged as
// `aws ecs` names them, over berth's gRPC API, plus what aws ecs lacks
// (wait services-stable, explain, logs, exec, top).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth/berth/cmd/berth/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Terminal: cli.OSTerminal(os.Stdin), Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
