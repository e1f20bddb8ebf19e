package cli

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func (a *app) logsCommand() *cobra.Command {
	req := &berthv1.GetTaskLogsRequest{}
	cmd := &cobra.Command{
		Use:   "logs TASK",
		Short: "Print a task's container output, through the agent that runs it",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("logs takes one task ID or ARN")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&req.Cluster, "cluster", "", "the cluster (default: default)")
	fs.StringVar(&req.Container, "container", "", "one container's name (default: all of the task's containers)")
	fs.BoolVarP(&req.Follow, "follow", "f", false, "keep printing new output until the task stops")
	fs.Int32Var(&req.Tail, "tail", 0, "only the last N lines of each container (0: all)")
	cmd.RunE = a.run(func(cmd *cobra.Command, args []string) error {
		if req.Tail < 0 {
			return usagef("--tail must not be negative")
		}
		req.Task = args[0]
		return a.withBerth(cmd.Context(), func(ctx context.Context, _ berthv1.ECSClient, b berthv1.BerthClient) error {
			err := streamLogs(ctx, b, req, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if req.Follow && ctx.Err() != nil {
				return nil // interrupted, as -f is ended
			}
			return err
		})
	})
	return cmd
}

// streamLogs copies the task's output to stdout and stderr, each chunk to
// the stream it came from, until the server ends the stream.
func streamLogs(ctx context.Context, b berthv1.BerthClient, req *berthv1.GetTaskLogsRequest, stdout, stderr io.Writer) error {
	stream, err := b.GetTaskLogs(ctx, req)
	if err != nil {
		return err
	}
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		w := stdout
		if chunk.Stream == "stderr" {
			w = stderr
		}
		if _, err := w.Write(chunk.Data); err != nil {
			return err
		}
	}
}
