package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func (a *app) explainCommand() *cobra.Command {
	var cluster, service string
	cmd := &cobra.Command{
		Use:   "explain (TASK | --service NAME)",
		Short: "Say why a task was placed where it is, or why a service cannot place its tasks",
		Args: func(_ *cobra.Command, args []string) error {
			switch {
			case service == "" && len(args) != 1:
				return usagef("explain takes one task ID or ARN, or --service NAME")
			case service != "" && len(args) > 0:
				return usagef("explain takes a task or --service, not both")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster (default: default)")
	cmd.Flags().StringVar(&service, "service", "", "explain the service's latest placement failure")
	cmd.RunE = a.run(func(cmd *cobra.Command, args []string) error {
		return a.withBerth(cmd.Context(), func(ctx context.Context, _ berthv1.ECSClient, b berthv1.BerthClient) error {
			out := cmd.OutOrStdout()
			if service != "" {
				resp, err := b.ExplainService(ctx, &berthv1.ExplainServiceRequest{Cluster: cluster, Service: service})
				if err != nil {
					return err
				}
				if a.outputSet && a.output == "json" {
					return writeJSON(out, resp, nil)
				}
				return writeServiceExplanation(out, resp)
			}
			resp, err := b.ExplainTask(ctx, &berthv1.ExplainTaskRequest{Cluster: cluster, Task: args[0]})
			if err != nil {
				return err
			}
			if a.outputSet && a.output == "json" {
				return writeJSON(out, resp, nil)
			}
			return writeTaskExplanation(out, resp)
		})
	})
	return cmd
}

// writeTaskExplanation writes where a task is and how each placement
// strategy ranked the instances that could take it.
func writeTaskExplanation(w io.Writer, e *berthv1.ExplainTaskResponse) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", e.TaskArn)
	fmt.Fprintf(tw, "status\t%s\n", e.LastStatus)
	fmt.Fprintf(tw, "instance\t%s\n", orNone(e.ContainerInstanceArn))
	if e.Group != "" {
		fmt.Fprintf(tw, "group\t%s\n", e.Group)
	}
	if p := e.Placement; p != nil {
		switch {
		case p.NamedInstance:
			fmt.Fprintf(tw, "placement\tthe caller named the instance (StartTask or a DAEMON service): no strategy ranked it\n")
		default:
			fmt.Fprintf(tw, "candidates\t%d instances passed every placement constraint and resource check\n", p.Candidates)
			if len(p.Steps) == 0 {
				fmt.Fprintf(tw, "strategy\tnone\n")
			}
		}
	}
	if e.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", e.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p := e.GetPlacement()
	if len(p.GetSteps()) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tSTRATEGY\tRANKED\tTIED BEST\tSCORE")
		for i, s := range p.Steps {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\n", i+1, s.Strategy, s.Candidates, s.Best, s.Score)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if p.GetTieBreak() != "" {
		fmt.Fprintf(w, "\ntie break: %s\n", p.TieBreak)
	}
	return nil
}

// writeServiceExplanation writes a service's latest placement failure: the
// reason, what each filter ruled out and the closest instance.
func writeServiceExplanation(w io.Writer, e *berthv1.ExplainServiceResponse) error {
	f := e.Failure
	if f == nil {
		_, err := fmt.Fprintf(w, "service %s: no placement failure\n", e.ServiceArn)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "service\t%s\n", e.ServiceArn)
	fmt.Fprintf(tw, "reason\t%s\n", f.Reason)
	if f.Detail != "" {
		fmt.Fprintf(tw, "detail\t%s\n", f.Detail)
	}
	if f.At > 0 {
		fmt.Fprintf(tw, "at\t%s\n", time.Unix(0, int64(f.At*1e9)).UTC().Format(time.RFC3339))
	}
	for i, c := range f.Filtered {
		label := ""
		if i == 0 {
			label = "ruled out"
		}
		fmt.Fprintf(tw, "%s\t%s: %d\n", label, c.Filter, c.RuledOut)
	}
	if c := f.Closest; c != nil {
		fmt.Fprintf(tw, "closest\t%s lacks %s%s\n", resourceID(c.ContainerInstanceArn), strings.Join(c.Lacks, ", "), shortfall(c))
	}
	return tw.Flush()
}

// shortfall says how much more the closest instance would need.
func shortfall(c *berthv1.ClosestInstance) string {
	var parts []string
	for _, r := range []struct {
		name string
		n    int32
	}{{"CPU units", c.Cpu}, {"MiB of memory", c.Memory}, {"GPUs", c.Gpu}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%d more %s", r.n, r.name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (needs " + strings.Join(parts, ", ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
