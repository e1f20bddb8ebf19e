package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// stringsFlag is a flag of several values (--services a b).
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, " ") }
func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}
func (s *stringsFlag) Type() string { return "strings" }
func (s *stringsFlag) isList() bool { return true }

func (a *app) waitCommand() *cobra.Command {
	wait := &cobra.Command{
		Use:   "wait",
		Short: "Wait until a condition holds",
		RunE: func(*cobra.Command, []string) error {
			return usagef("wait takes a condition: services-stable")
		},
	}
	var (
		cluster           string
		services          stringsFlag
		timeout, interval time.Duration
	)
	stable := &cobra.Command{
		Use:   "services-stable",
		Short: "Wait until services are stable: one deployment, rollout COMPLETED, running == desired, none pending",
		Long: "Polls DescribeServices until each service has one deployment whose rollout is COMPLETED,\n" +
			"runningCount equal to desiredCount and pendingCount 0. It fails at once on a FAILED\n" +
			"rollout, a missing or inactive service, and after --timeout.",
		Args: noArgs,
	}
	fs := stable.Flags()
	fs.StringVar(&cluster, "cluster", "", "the cluster (default: default)")
	fs.Var(&services, "services", "the services' names or ARNs")
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.DurationVar(&interval, "interval", 2*time.Second, "time between polls")
	stable.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		if len(services) == 0 {
			return usagef("the following arguments are required: --services")
		}
		if interval <= 0 || timeout <= 0 {
			return usagef("--timeout and --interval must be positive")
		}
		w := servicesWaiter{
			req:      &berthv1.DescribeServicesRequest{Cluster: cluster, Services: services},
			timeout:  timeout,
			interval: interval,
			view:     &progress{w: cmd.OutOrStdout(), live: isTerminal(cmd.OutOrStdout())},
		}
		return a.withECS(cmd.Context(), w.wait)
	})
	wait.AddCommand(stable)
	return wait
}

// servicesWaiter polls services until they are stable.
type servicesWaiter struct {
	req               *berthv1.DescribeServicesRequest
	timeout, interval time.Duration
	view              *progress
}

func (w *servicesWaiter) wait(ctx context.Context, ecs berthv1.ECSClient) error {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	var waiting []string // why the services are not stable yet
	for {
		resp, err := ecs.DescribeServices(ctx, w.req)
		if err != nil {
			// gRPC may end the call at the deadline a moment before ctx is done.
			if status.Code(err) == codes.DeadlineExceeded && parent.Err() == nil {
				return w.timedOut(waiting)
			}
			return err
		}
		if len(resp.Failures) > 0 {
			f := resp.Failures[0]
			return fmt.Errorf("service %s: %s %s", resourceID(f.Arn), f.Reason, f.Detail)
		}
		var lines []string
		waiting = waiting[:0]
		for _, s := range resp.Services {
			st := serviceStability(s)
			if st.failed != "" {
				w.view.show(lines, start)
				return fmt.Errorf("service %s: %s", s.ServiceName, st.failed)
			}
			lines = append(lines, st.line)
			if st.waiting != "" {
				waiting = append(waiting, s.ServiceName+": "+st.waiting)
			}
		}
		w.view.show(lines, start)
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return w.timedOut(waiting)
		case <-time.After(w.interval):
		}
	}
}

func (w *servicesWaiter) timedOut(waiting []string) error {
	return fmt.Errorf("services not stable after %s: %s", w.timeout, strings.Join(waiting, "; "))
}

// stability is where one service stands: a progress line, why it is not
// stable yet ("" when it is), and why it never will be ("" unless so).
type stability struct {
	line, waiting, failed string
}

func serviceStability(s *berthv1.Service) stability {
	if s.Status != "ACTIVE" {
		return stability{failed: "status " + s.Status}
	}
	var why []string
	if s.GetRunningCount() != s.GetDesiredCount() {
		why = append(why, fmt.Sprintf("running %d of %d", s.GetRunningCount(), s.GetDesiredCount()))
	}
	if s.GetPendingCount() > 0 {
		why = append(why, fmt.Sprintf("%d pending", s.GetPendingCount()))
	}
	if len(s.Deployments) != 1 {
		why = append(why, fmt.Sprintf("%d deployments", len(s.Deployments)))
	}
	for _, d := range s.Deployments {
		if d.Status != "PRIMARY" {
			continue
		}
		switch d.RolloutState {
		case "FAILED":
			return stability{failed: "rollout FAILED: " + d.RolloutStateReason}
		case "", "COMPLETED":
		default:
			why = append(why, "rollout "+d.RolloutState)
		}
	}
	state := "stable"
	if len(why) > 0 {
		state = strings.Join(why, ", ")
	}
	line := fmt.Sprintf("%s  desired %d  running %d  pending %d  deployments %d  %s",
		s.ServiceName, s.GetDesiredCount(), s.GetRunningCount(), s.GetPendingCount(), len(s.Deployments), state)
	return stability{line: line, waiting: strings.Join(why, ", ")}
}

// progress shows one line per service: redrawn in place on a terminal,
// printed again when it changes otherwise.
type progress struct {
	w     io.Writer
	live  bool
	drawn int      // lines drawn on the terminal
	last  []string // lines last printed, when not live
}

func (p *progress) show(lines []string, start time.Time) {
	if !p.live {
		for i, l := range lines {
			if i >= len(p.last) || p.last[i] != l {
				fmt.Fprintln(p.w, l)
			}
		}
		p.last = lines
		return
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	head := fmt.Sprintf("waiting for services to be stable (%s)", time.Since(start).Round(time.Second))
	for _, l := range append([]string{head}, lines...) {
		fmt.Fprintf(p.w, "\r\x1b[2K%s\n", l)
	}
	p.drawn = len(lines) + 1
}

// isTerminal says whether w is a terminal, for live views.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
