package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func (a *app) topCommand() *cobra.Command {
	var (
		cluster  string
		watch    bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show the cluster's utilization per container instance",
		Long: "For each container instance: its tasks, and the CPU and memory its tasks reserve out of what\n" +
			"it registered (registeredResources less remainingResources), then the cluster's totals.",
		Args: noArgs,
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster (default: default)")
	cmd.Flags().BoolVar(&watch, "watch", false, "redraw every --interval until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between redraws with --watch")
	cmd.RunE = a.run(func(cmd *cobra.Command, _ []string) error {
		out := cmd.OutOrStdout()
		live := isTerminal(out)
		return a.withECS(cmd.Context(), func(ctx context.Context, ecs berthv1.ECSClient) error {
			for first := true; ; first = false {
				usage, err := clusterUsage(ctx, ecs, cluster)
				if err != nil {
					if watch && ctx.Err() != nil {
						return nil // interrupted
					}
					return err
				}
				switch {
				case live && watch:
					fmt.Fprint(out, "\x1b[H\x1b[2J")
				case !first:
					fmt.Fprintln(out)
				}
				if a.outputSet && a.output == "json" {
					err = json.NewEncoder(out).Encode(usage)
				} else {
					err = writeTop(out, usage)
				}
				if err != nil || !watch {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		})
	})
	return cmd
}

// instanceUsage is one container instance's line in top.
type instanceUsage struct {
	ContainerInstance string `json:"containerInstance"`
	AvailabilityZone  string `json:"availabilityZone"`
	InstanceType      string `json:"instanceType"`
	Status            string `json:"status"`
	AgentConnected    bool   `json:"agentConnected"`
	Running           int32  `json:"runningTasksCount"`
	Pending           int32  `json:"pendingTasksCount"`
	CPUUsed           int64  `json:"cpuUsed"`
	CPURegistered     int64  `json:"cpuRegistered"`
	MemoryUsed        int64  `json:"memoryUsed"`
	MemoryRegistered  int64  `json:"memoryRegistered"`
}

// clusterUsage lists and describes every container instance of the cluster.
func clusterUsage(ctx context.Context, ecs berthv1.ECSClient, cluster string) ([]instanceUsage, error) {
	var arns []string
	req := &berthv1.ListContainerInstancesRequest{Cluster: cluster, MaxResults: 100}
	for {
		l, err := ecs.ListContainerInstances(ctx, req)
		if err != nil {
			return nil, err
		}
		arns = append(arns, l.ContainerInstanceArns...)
		if req.NextToken = l.NextToken; req.NextToken == "" {
			break
		}
	}
	out := []instanceUsage{}
	for len(arns) > 0 {
		batch := arns[:min(len(arns), 100)]
		arns = arns[len(batch):]
		d, err := ecs.DescribeContainerInstances(ctx, &berthv1.DescribeContainerInstancesRequest{Cluster: cluster, ContainerInstances: batch})
		if err != nil {
			return nil, err
		}
		for _, ci := range d.ContainerInstances {
			u := instanceUsage{
				ContainerInstance: resourceID(ci.ContainerInstanceArn),
				AvailabilityZone:  attribute(ci, "ecs.availability-zone"),
				InstanceType:      attribute(ci, "ecs.instance-type"),
				Status:            ci.Status, AgentConnected: ci.AgentConnected,
				Running: ci.GetRunningTasksCount(), Pending: ci.GetPendingTasksCount(),
				CPURegistered: resource(ci.RegisteredResources, "CPU"), MemoryRegistered: resource(ci.RegisteredResources, "MEMORY"),
			}
			u.CPUUsed = u.CPURegistered - resource(ci.RemainingResources, "CPU")
			u.MemoryUsed = u.MemoryRegistered - resource(ci.RemainingResources, "MEMORY")
			out = append(out, u)
		}
	}
	return out, nil
}

// resource is an INTEGER (or LONG, DOUBLE) resource's value.
func resource(rs []*berthv1.Resource, name string) int64 {
	for _, r := range rs {
		if r.Name != name {
			continue
		}
		switch {
		case r.IntegerValue != nil:
			return int64(r.GetIntegerValue())
		case r.LongValue != nil:
			return int64(r.GetLongValue())
		default:
			return int64(r.GetDoubleValue())
		}
	}
	return 0
}

func writeTop(w io.Writer, usage []instanceUsage) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tAZ\tTYPE\tSTATUS\tAGENT\tRUNNING\tPENDING\tCPU\tMEMORY")
	var total instanceUsage
	connectedCount := 0
	for _, u := range usage {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", u.ContainerInstance, u.AvailabilityZone, u.InstanceType,
			u.Status, connected(u.AgentConnected), u.Running, u.Pending,
			share(u.CPUUsed, u.CPURegistered), share(u.MemoryUsed, u.MemoryRegistered))
		total.Running += u.Running
		total.Pending += u.Pending
		total.CPUUsed += u.CPUUsed
		total.CPURegistered += u.CPURegistered
		total.MemoryUsed += u.MemoryUsed
		total.MemoryRegistered += u.MemoryRegistered
		if u.AgentConnected {
			connectedCount++
		}
	}
	fmt.Fprintf(tw, "TOTAL (%d instances)\t\t\t\t%d connected\t%d\t%d\t%s\t%s\n", len(usage), connectedCount,
		total.Running, total.Pending, share(total.CPUUsed, total.CPURegistered), share(total.MemoryUsed, total.MemoryRegistered))
	return tw.Flush()
}

// share is "used/registered pct%".
func share(used, registered int64) string {
	if registered == 0 {
		return fmt.Sprintf("%d/0", used)
	}
	return fmt.Sprintf("%d/%d %d%%", used, registered, (used*100+registered/2)/registered)
}
