package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// eventsCommand tails the default event bus: the events of berth's event
// log (PutEvents, ECS's state changes, ECR's pushes), one JSON document a
// line, as EventBridge's targets receive them.
func (a *app) eventsCommand() *cobra.Command {
	var (
		follow   bool
		tail     int32
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Tail the default event bus (EventBridge): one event a line, in EventBridge's envelope",
		Args:  noArgs,
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they come until interrupted")
	cmd.Flags().Int32Var(&tail, "tail", 20, "how many of the newest events to print first (1-100)")
	cmd.Flags().DurationVar(&interval, "interval", 500*time.Millisecond, "time between looks with --follow")
	cmd.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		out := cmd.OutOrStdout()
		ctx, conn, err := a.connect(cmd.Context())
		if err != nil {
			return err
		}
		defer conn.Close()
		eb := berthv1.NewEventBridgeClient(conn)
		res, err := eb.ListBusEvents(ctx, &berthv1.ListBusEventsRequest{Latest: true, Limit: tail})
		for {
			if err != nil {
				if follow && ctx.Err() != nil {
					return nil // interrupted
				}
				return err
			}
			for _, ev := range res.GetEvents() {
				fmt.Fprintln(out, ev)
			}
			if !follow {
				return nil
			}
			if len(res.GetEvents()) == 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
			res, err = eb.ListBusEvents(ctx, &berthv1.ListBusEventsRequest{After: res.GetNext(), Limit: 100})
		}
	})
	return cmd
}
