package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/agent/runtime"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Options size a scenario.
type Options struct {
	// Seed seeds the scenario's random source (the same seed, the same
	// choices, though not the same timing).
	Seed uint64
	// Kills is how many processes to kill.
	Kills int
	// Partitions is how many times Partitions cuts its agent off, each
	// time until its tasks are lost, and for PartitionFor at least.
	Partitions   int
	PartitionFor time.Duration
	// Clients write concurrently, each with its own family and service.
	Clients int
	// Agents is how many hollow agent processes run.
	Agents int
	// ControlPlaneBin is the built cmd/controlplane; Dir holds the data dirs.
	ControlPlaneBin, Dir string
	// Settle bounds how long the cluster may take to converge at the end.
	Settle time.Duration
	// Logf reports progress.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Clients <= 0 {
		o.Clients = 4
	}
	if o.Agents <= 0 {
		o.Agents = 3
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Tally is what a scenario did and found.
type Tally struct {
	Seed       uint64 `json:"seed"`
	Kills      int    `json:"kills"`
	Acked      int    `json:"acknowledged_writes"`
	Lost       int    `json:"lost"`
	Duplicates int    `json:"duplicates"`
	Orphans    int    `json:"orphans"`
	// Partitions is how many times an agent was cut off past the TTL and
	// came back.
	Partitions int      `json:"partitions,omitempty"`
	Problems   []string `json:"problems,omitempty"`
	// HeldBack are services still below their desired count at the end
	// because ECS's start-failure back-off holds their starts (not
	// damage: the back-off is ECS's, up to 15 minutes).
	HeldBack []string `json:"held_back,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// String is the tally's one line (its partitions at the end, if any).
func (t Tally) String() string {
	line := fmt.Sprintf("chaos: %d kills, %d acknowledged writes, %d lost, %d duplicates, %d orphans", t.Kills, t.Acked, t.Lost, t.Duplicates, t.Orphans)
	switch {
	case t.Partitions == 1:
		line += ", 1 partition"
	case t.Partitions > 1:
		line += fmt.Sprintf(", %d partitions", t.Partitions)
	}
	return line
}

// Add adds u's counts to t's (for the line of several scenarios).
func (t *Tally) Add(u Tally) {
	t.Kills += u.Kills
	t.Acked += u.Acked
	t.Lost += u.Lost
	t.Duplicates += u.Duplicates
	t.Orphans += u.Orphans
	t.Partitions += u.Partitions
	t.Seconds += u.Seconds
}

// OK says nothing was lost, duplicated or orphaned and nothing else was wrong.
func (t Tally) OK() bool {
	return t.Lost == 0 && t.Duplicates == 0 && t.Orphans == 0 && len(t.Problems) == 0
}

func (t *Tally) problem(format string, args ...any) {
	if len(t.Problems) < 50 {
		t.Problems = append(t.Problems, fmt.Sprintf(format, args...))
	}
}

// cluster is a control plane and its hollow agents.
type cluster struct {
	cp     *ControlPlane
	agents []*Agent
	client *Client
}

// startCluster starts a control plane (on a free loopback address, or on
// addr; with more flags, args) and o.Agents hollow agents, each agent in its
// own zone, and waits until they are registered.
func startCluster(ctx context.Context, o Options, addr string, args ...string) (*cluster, error) {
	if addr == "" {
		var err error
		if addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	c := &cluster{cp: &ControlPlane{Bin: o.ControlPlaneBin, DataDir: filepath.Join(o.Dir, "controlplane"), GRPCAddr: addr, Args: args}}
	if err := c.cp.Start(2 * time.Minute); err != nil {
		return nil, err
	}
	join, err := c.cp.JoinToken()
	if err != nil {
		c.stop()
		return nil, err
	}
	if c.client, err = c.cp.Dial(); err != nil {
		c.stop()
		return nil, err
	}
	for i := range o.Agents {
		a := &Agent{Config: AgentConfig{ControlPlane: addr, JoinToken: join, DataDir: filepath.Join(o.Dir, fmt.Sprintf("agent-%d", i)),
			Zone: fmt.Sprintf("chaos-1%c", 'a'+i%3), CPU: 8192, Memory: 8192}}
		if err := a.Start(time.Minute); err != nil {
			c.stop()
			return nil, err
		}
		c.agents = append(c.agents, a)
	}
	err = poll(ctx, 2*time.Minute, func() error {
		arns, err := c.instances(ctx)
		if err == nil && len(arns) != o.Agents {
			err = fmt.Errorf("%d of %d agents registered", len(arns), o.Agents)
		}
		return err
	})
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) stop() {
	for _, a := range c.agents {
		a.Kill()
	}
	if c.client != nil {
		c.client.Close()
	}
	c.cp.Kill()
}

// instances returns the cluster's ACTIVE container instances: ec2InstanceId
// to ARN.
func (c *cluster) instances(ctx context.Context) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 10*time.Second)
	defer cancel()
	list, err := c.client.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if len(list.ContainerInstanceArns) == 0 {
		return out, nil
	}
	desc, err := c.client.DescribeContainerInstances(ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: list.ContainerInstanceArns})
	if err != nil {
		return nil, err
	}
	for _, ci := range desc.ContainerInstances {
		if ci.Status == "ACTIVE" {
			out[ci.Ec2InstanceId] = ci.ContainerInstanceArn
		}
	}
	return out, nil
}

// poll calls f until it returns nil or timeout passes (its last error).
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// records returns each agent's running hollow containers.
func (c *cluster) records(ctx context.Context) ([][]runtime.ContainerSummary, error) {
	out := make([][]runtime.ContainerSummary, len(c.agents))
	for i, a := range c.agents {
		list, err := a.Containers(ctx)
		if err != nil {
			return nil, fmt.Errorf("agent %d: %w", i, err)
		}
		for _, s := range list {
			if s.Status == runtime.StatusRunning {
				out[i] = append(out[i], s)
			}
		}
	}
	return out, nil
}

// duplicates counts task containers running more than once across the
// agents' records (a task's container running twice).
func duplicates(recs [][]runtime.ContainerSummary) (n int, which []string) {
	seen := map[string]int{}
	for _, list := range recs {
		for _, s := range list {
			seen[s.Labels[runtime.LabelTaskARN]+" "+s.Labels[runtime.LabelContainerName]]++
		}
	}
	for k, v := range seen {
		if v > 1 {
			n += v - 1
			which = append(which, k)
		}
	}
	slices.Sort(which)
	return n, which
}

// view is one look at the cluster: the control plane's tasks that should
// run and the agents' running containers.
type view struct {
	dups, orphans, ghosts, pending int
	services                       []string // services not at their desired count
	heldBack                       []string // services below it in the start-failure back-off
	notes                          []string
}

func (v view) settled() bool {
	return v.dups == 0 && v.orphans == 0 && v.ghosts == 0 && v.pending == 0 && len(v.services) == 0
}

func (v view) String() string {
	return fmt.Sprintf("%d duplicate containers, %d orphan containers, %d RUNNING tasks without a container, %d tasks not yet RUNNING, services off their desired count: %v; %s",
		v.dups, v.orphans, v.ghosts, v.pending, v.services, strings.Join(v.notes, "; "))
}

// look compares the control plane's tasks with the agents' records.
func (c *cluster) look(ctx context.Context, services []string) (view, error) {
	var v view
	recs, err := c.records(ctx)
	if err != nil {
		return v, err
	}
	tasks, err := c.liveTasks(ctx)
	if err != nil {
		return v, err
	}
	byTask := map[string]*berthv1.Task{}
	for _, t := range tasks {
		byTask[t.TaskArn] = t
	}
	var which []string
	v.dups, which = duplicates(recs)
	if v.dups > 0 {
		v.notes = append(v.notes, fmt.Sprintf("running twice: %v", which))
	}
	has := map[string]bool{}
	for _, list := range recs {
		for _, s := range list {
			arn := s.Labels[runtime.LabelTaskARN]
			has[arn] = true
			t := byTask[arn]
			switch {
			case t == nil:
				v.orphans++
				v.notes = append(v.notes, "orphan container of "+arn)
			case t.ContainerInstanceArn != s.Labels[runtime.LabelInstanceARN]:
				v.orphans++
				v.notes = append(v.notes, fmt.Sprintf("container of %s on %s, task placed on %s", arn, s.Labels[runtime.LabelInstanceARN], t.ContainerInstanceArn))
			}
		}
	}
	count := map[string]int{}
	for _, t := range tasks {
		if t.LastStatus != "RUNNING" {
			v.pending++
		} else if !has[t.TaskArn] {
			v.ghosts++
		}
		count[t.Group]++
	}
	if len(services) > 0 {
		desc, err := c.client.DescribeServices(c.client.Ctx(ctx), &berthv1.DescribeServicesRequest{Services: services})
		if err != nil {
			return v, err
		}
		for _, s := range desc.Services {
			n := count["service:"+s.ServiceName]
			if int(s.GetDesiredCount()) == n {
				continue
			}
			off := fmt.Sprintf("%s %d of %d", s.ServiceName, n, s.GetDesiredCount())
			if n < int(s.GetDesiredCount()) && backingOff(s) {
				// ECS's start-failure back-off (tasks that died before
				// RUNNING with their agent count as failed starts):
				// the service waits, as it should, up to 15 minutes.
				v.heldBack = append(v.heldBack, off)
				continue
			}
			v.services = append(v.services, off)
			v.notes = append(v.notes, fmt.Sprintf("%s says runningCount %d, pendingCount %d", s.ServiceName, s.GetRunningCount(), s.GetPendingCount()))
			for _, d := range s.Deployments {
				v.notes = append(v.notes, fmt.Sprintf("%s deployment %s %s: desired %d running %d pending %d", s.ServiceName, d.Id, d.Status, d.GetDesiredCount(), d.GetRunningCount(), d.GetPendingCount()))
			}
			stuck, err := c.stopping(ctx, s.ServiceName)
			if err != nil {
				return v, err
			}
			v.notes = append(v.notes, stuck...)
			for _, e := range s.Events[:min(3, len(s.Events))] {
				v.notes = append(v.notes, s.ServiceName+" event: "+e.Message)
			}
		}
	}
	return v, nil
}

// stopping describes the tasks asked to stop that have not stopped (of
// the service name, or of every service and none when name is ""): they
// count against their service's maximumPercent until they do.
func (c *cluster) stopping(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 30*time.Second)
	defer cancel()
	arns, err := c.listTasks(ctx, name, "STOPPED")
	if err != nil {
		return nil, err
	}
	tasks, err := c.describeTasks(ctx, arns)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tasks {
		if t.LastStatus != "STOPPED" {
			out = append(out, fmt.Sprintf("task %s of %s: desired %s, last %s, on %q, stopCode %s, reason %q",
				t.TaskArn, t.Group, t.DesiredStatus, t.LastStatus, t.ContainerInstanceArn, t.StopCode, t.StoppedReason))
		}
	}
	return out, nil
}

// backingOff says whether the service's last events say it is in the
// start-failure back-off.
func backingOff(s *berthv1.Service) bool {
	for _, e := range s.Events[:min(5, len(s.Events))] {
		if strings.Contains(e.Message, "unable to consistently start tasks") {
			return true
		}
	}
	return false
}

// liveTasks returns the tasks whose desired status is RUNNING.
func (c *cluster) liveTasks(ctx context.Context) ([]*berthv1.Task, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 30*time.Second)
	defer cancel()
	arns, err := c.listTasks(ctx, "", "RUNNING")
	if err != nil {
		return nil, err
	}
	return c.describeTasks(ctx, arns)
}

// listTasks lists the tasks of the service (every one when service is "")
// of a desired status, page by page.
func (c *cluster) listTasks(ctx context.Context, service, desiredStatus string) ([]string, error) {
	var arns []string
	next := ""
	for {
		res, err := c.client.ListTasks(ctx, &berthv1.ListTasksRequest{ServiceName: service, DesiredStatus: desiredStatus, MaxResults: 100, NextToken: next})
		if err != nil {
			return nil, err
		}
		arns = append(arns, res.TaskArns...)
		if next = res.NextToken; next == "" {
			return arns, nil
		}
	}
}

// describeTasks describes tasks 100 at a time; a missing task is left out.
func (c *cluster) describeTasks(ctx context.Context, arns []string) ([]*berthv1.Task, error) {
	var out []*berthv1.Task
	for chunk := range slices.Chunk(arns, 100) {
		res, err := c.client.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: chunk})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Tasks...)
	}
	return out, nil
}

// settle waits until the cluster converges (every task that should run
// runs once, on its instance, services at their desired counts, no
// container without its task) or timeout passes, and adds what it finds to
// t.
func (c *cluster) settle(ctx context.Context, timeout time.Duration, services []string, t *Tally) {
	var last view
	err := poll(ctx, timeout, func() error {
		v, err := c.look(ctx, services)
		if err != nil {
			return err
		}
		last = v
		if v.dups > t.Duplicates {
			t.Duplicates = v.dups // never right, even for a moment
		}
		if !v.settled() {
			return fmt.Errorf("not settled: %s", v)
		}
		return nil
	})
	if err != nil {
		// A service off its desiredCount once all else has settled is
		// damage too (only the start-failure back-off may hold a service
		// short: see Tally.HeldBack).
		t.Orphans += last.orphans
		t.problem("after %s: %v", timeout, err)
	}
	t.HeldBack = last.heldBack
	// A task asked to stop must get there: one its agent never reports
	// STOPPED stays in its service's count against maximumPercent for ever
	// (it once held services short of their desiredCount).
	var stuck []string
	err = poll(ctx, timeout/4, func() error {
		var err error
		if stuck, err = c.stopping(ctx, ""); err != nil {
			return err
		}
		if len(stuck) > 0 {
			return fmt.Errorf("%d tasks asked to stop have not stopped: %s", len(stuck), strings.Join(stuck[:min(5, len(stuck))], "; "))
		}
		return nil
	})
	if err != nil {
		t.problem("after %s: %v", timeout/4, err)
	}
}
