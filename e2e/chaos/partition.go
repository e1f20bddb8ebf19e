package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent/runtime"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// partitionHeartbeat is the control plane's --heartbeat-period in
// Partitions: an agent silent for three periods (the TTL) is cut off, and
// its tasks are lost after as long again.
const partitionHeartbeat = time.Second

// partitionTTL is the agent TTL that heartbeat period makes.
const partitionTTL = 3 * partitionHeartbeat

// islandZone is the zone of the agent in the network namespace, the island.
const islandZone = "chaos-island"

// islands is the family and the service whose tasks the island runs.
const islands = "islands"

// Partitions starts a control plane on link's host-side address (with TLS:
// that address is beyond loopback) with a short agent TTL, o.Agents hollow
// agents beside it and one more, the island, in link's network namespace,
// reaching the control plane across the veth pair. A service spread over
// every instance and a task started on the island give the island tasks,
// while o.Clients writers go on as in AgentKills. Then o.Partitions times it
// cuts the link and keeps it cut until the control plane has lost the
// island's tasks (its agent silent past the TTL, then as long again), checks
// that the service replaced them on the other instances while the island's
// copies still run, heals the link, and checks that the island's agent comes
// back as the same instance and stops those stale copies. All along,
// DescribeServices' runningCount and the service's tasks counted RUNNING
// never exceed its desiredCount (a copy counted twice is a duplicate). At
// the end it checks every acknowledged write and that the cluster settles,
// as the other scenarios do.
func Partitions(ctx context.Context, o Options, link *Link) (Tally, error) {
	o.defaults()
	began := time.Now()
	t := Tally{Seed: o.Seed}
	o.Logf("chaos: partitions, seed %d; the island in network namespace %s at %s, the control plane at %s", o.Seed, link.Netns, link.NsIP, link.HostIP)
	addr, err := FreeAddrOn(link.HostIP.String())
	if err != nil {
		return t, err
	}
	c, err := startCluster(ctx, o, addr, "--tls-auto", "--heartbeat-period", partitionHeartbeat.String())
	if err != nil {
		return t, err
	}
	defer c.stop()
	join, err := c.cp.JoinToken()
	if err != nil {
		return t, err
	}
	dir, err := filepath.Abs(filepath.Join(o.Dir, "island"))
	if err != nil {
		return t, err
	}
	island := &Agent{Netns: link.Netns, Config: AgentConfig{ControlPlane: addr, JoinToken: join, DataDir: dir,
		Zone: islandZone, CPU: 8192, Memory: 8192, RecordOnSocket: true}}
	if err := island.Start(time.Minute); err != nil {
		return t, fmt.Errorf("the island's agent: %w", err)
	}
	c.agents = append(c.agents, island)
	var islandARN string
	err = poll(ctx, 2*time.Minute, func() error {
		var err error
		islandARN, err = c.instanceIn(ctx, islandZone)
		return err
	})
	if err != nil {
		return t, fmt.Errorf("the island's agent did not register: %w\n%s", err, island.Logs())
	}
	instances, err := c.instances(ctx)
	if err != nil {
		return t, err
	}
	o.Logf("chaos: %d agents registered, the island %s, after %s", len(instances), islandARN, time.Since(began).Round(100*time.Millisecond))

	desired := int32(2 * len(c.agents))
	if err := c.createIslands(ctx, desired); err != nil {
		return t, err
	}
	t.Acked += 2
	watch := c.watchCounts(ctx, islands)
	defer watch()
	ws, err := startWriters(ctx, c, o, true)
	if err != nil {
		return t, err
	}
	defer ws.close()

	for p := range o.Partitions {
		if p > 0 {
			// The island's tasks were replaced elsewhere: two more
			// tasks of the service go to it, the instance with fewest.
			desired += 2
			if err := c.call(ctx, func(ctx context.Context) error {
				_, err := c.client.UpdateService(ctx, &berthv1.UpdateServiceRequest{Service: islands, DesiredCount: proto.Int32(desired)})
				return err
			}); err != nil {
				return t, err
			}
			t.Acked++
		}
		if err := c.partition(ctx, o, link, island, islandARN, desired, &t); err != nil {
			return t, fmt.Errorf("partition %d: %w", p+1, err)
		}
		t.Partitions++
	}
	ws.stop()
	over, looks, notes := watch()
	if looks == 0 {
		t.problem("service %s's counts were never read", islands)
	}
	if over > 0 {
		t.Duplicates += over
		t.problem("service %s counted more tasks RUNNING than it wants: %s", islands, strings.Join(notes, "; "))
	}
	for _, w := range ws.writers {
		if err := w.verify(ctx, c, &t); err != nil {
			return t, err
		}
	}
	settling := time.Now()
	c.settle(ctx, o.Settle, append(ws.services, islands), &t)
	o.Logf("chaos: settled in %s", time.Since(settling).Round(100*time.Millisecond))
	now, err := c.instances(ctx)
	if err != nil {
		return t, err
	}
	for id, arn := range instances {
		if now[id] != arn {
			t.problem("instance %s: ARN %s before the partitions, %q after", id, arn, now[id])
		}
	}
	if len(now) != len(instances) {
		t.problem("%d container instances after the partitions, %d before: an agent registered again", len(now), len(instances))
	}
	t.Seconds = time.Since(began).Seconds()
	return t, nil
}

// partition cuts the island off once and heals it (see Partitions).
func (c *cluster) partition(ctx context.Context, o Options, link *Link, island *Agent, islandARN string, desired int32, t *Tally) error {
	// A standalone task on the island too: lost, it is not replaced, and
	// its stale copy must stop as the service's do.
	var standalone string
	err := c.call(ctx, func(ctx context.Context) error {
		res, err := c.client.StartTask(ctx, &berthv1.StartTaskRequest{TaskDefinition: islands, ContainerInstances: []string{islandARN}, StartedBy: islands})
		if err == nil && len(res.Tasks) != 1 {
			err = fmt.Errorf("StartTask on the island: %v", res.Failures)
		}
		if err == nil {
			standalone = res.Tasks[0].TaskArn
		}
		return err
	})
	if err != nil {
		return err
	}
	t.Acked++

	// Before: the service at its count, the island running some of its
	// tasks and the standalone one, in the control plane and in fact.
	var stale []string
	began := time.Now()
	err = poll(ctx, 2*time.Minute, func() error {
		tasks, err := c.serviceTasks(ctx, islands)
		if err != nil {
			return err
		}
		tasks = append(tasks, c.tasks(ctx, standalone)...)
		stale = stale[:0]
		running := 0
		for _, task := range tasks {
			if task.LastStatus == "RUNNING" && task.Group == "service:"+islands {
				running++
			}
			if task.ContainerInstanceArn == islandARN {
				if task.LastStatus != "RUNNING" {
					return fmt.Errorf("task %s on the island is %s", task.TaskArn, task.LastStatus)
				}
				stale = append(stale, task.TaskArn)
			}
		}
		switch {
		case running != int(desired):
			return fmt.Errorf("%d of the service's %d tasks RUNNING", running, desired)
		case len(stale) < 2:
			return fmt.Errorf("the island runs %d tasks (%v); want the standalone one and one of the service's at least", len(stale), stale)
		}
		return c.running(ctx, island, stale, true)
	})
	if err != nil {
		return fmt.Errorf("before the cut: %w", err)
	}

	o.Logf("chaos: partition %d: the island runs %d tasks after %s", t.Partitions+1, len(stale), time.Since(began).Round(100*time.Millisecond))
	if err := link.Cut(); err != nil {
		return err
	}
	cut := time.Now()
	healed := false
	defer func() {
		if !healed {
			link.Heal()
		}
	}()
	// Cut off: the island's tasks lost and the service's replaced on
	// the other instances.
	err = poll(ctx, 2*time.Minute, func() error {
		if connected, err := c.connected(ctx, islandARN); err != nil || connected {
			return fmt.Errorf("the island's agent still connected (%v)", err)
		}
		tasks := c.tasks(ctx, stale...)
		if len(tasks) != len(stale) {
			return fmt.Errorf("%d of the island's %d tasks described", len(tasks), len(stale))
		}
		for _, task := range tasks {
			if task.LastStatus != "STOPPED" {
				return fmt.Errorf("the island's task %s is %s", task.TaskArn, task.LastStatus)
			}
		}
		tasks, err = c.serviceTasks(ctx, islands)
		if err != nil {
			return err
		}
		running := 0
		for _, task := range tasks {
			if task.ContainerInstanceArn == islandARN {
				return fmt.Errorf("task %s wants to run on the island, cut off", task.TaskArn)
			}
			if task.LastStatus == "RUNNING" {
				running++
			}
		}
		if running != int(desired) {
			return fmt.Errorf("%d of the service's %d tasks RUNNING", running, desired)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cut off: %w", err)
	}
	lost := time.Since(cut)
	if lost <= partitionTTL {
		t.problem("the island's tasks were lost %s after the cut, within the agent TTL %s", lost.Round(time.Millisecond), partitionTTL)
	}
	var reasons []string
	for _, task := range c.tasks(ctx, stale...) {
		if !slices.Contains(reasons, task.StoppedReason) {
			reasons = append(reasons, task.StoppedReason)
		}
	}
	// A longer partition, if asked for (the agent then notices later that
	// its session is gone: see bench/chaos/README.md).
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.PartitionFor - time.Since(cut)):
	}
	// The stale copies still run on the island: it was cut off, not dead.
	if err := c.running(ctx, island, stale, true); err != nil {
		t.problem("while cut off: %v", err)
	}
	c.countDuplicates(ctx, t, "while the island was cut off")

	if err := link.Heal(); err != nil {
		return err
	}
	healed = true
	heal := time.Now()
	// Back: the same instance connected again, and the stale copies
	// stopped.
	err = poll(ctx, 2*time.Minute, func() error {
		if connected, err := c.connected(ctx, islandARN); err != nil || !connected {
			return fmt.Errorf("the island's agent not connected again (%v)", err)
		}
		return c.running(ctx, island, stale, false)
	})
	if err != nil {
		return fmt.Errorf("healed: %w\n%s", err, island.Logs())
	}
	c.countDuplicates(ctx, t, "after the island came back")
	o.Logf("chaos: partition %d: the island's %d tasks lost %s after the cut (%q), replaced; healed after %s, its stale copies stopped %s after the heal",
		t.Partitions+1, len(stale), lost.Round(100*time.Millisecond), reasons, heal.Sub(cut).Round(100*time.Millisecond), time.Since(heal).Round(100*time.Millisecond))
	return nil
}

// createIslands registers the family and creates the service, spread over
// the instances.
func (c *cluster) createIslands(ctx context.Context, desired int32) error {
	return c.call(ctx, func(ctx context.Context) error {
		if _, err := c.client.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{Family: islands, ContainerDefinitions: containers()}); err != nil {
			return err
		}
		_, err := c.client.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: islands, TaskDefinition: islands, DesiredCount: proto.Int32(desired),
			PlacementStrategy: []*berthv1.PlacementStrategy{{Type: "spread", Field: "instanceId"}}})
		return err
	})
}

// call runs f with the client's credentials and a deadline, retried for a
// minute while it fails.
func (c *cluster) call(ctx context.Context, f func(context.Context) error) error {
	return poll(ctx, time.Minute, func() error {
		ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 20*time.Second)
		defer cancel()
		return f(ctx)
	})
}

// instanceIn returns the ARN of the ACTIVE container instance in zone.
func (c *cluster) instanceIn(ctx context.Context, zone string) (string, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 10*time.Second)
	defer cancel()
	list, err := c.client.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{Filter: "attribute:ecs.availability-zone == " + zone})
	if err != nil {
		return "", err
	}
	if len(list.ContainerInstanceArns) != 1 {
		return "", fmt.Errorf("%d container instances in %s", len(list.ContainerInstanceArns), zone)
	}
	return list.ContainerInstanceArns[0], nil
}

// connected says whether the instance's agent is connected.
func (c *cluster) connected(ctx context.Context, arn string) (bool, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 10*time.Second)
	defer cancel()
	res, err := c.client.DescribeContainerInstances(ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: []string{arn}})
	if err != nil {
		return false, err
	}
	if len(res.ContainerInstances) != 1 {
		return false, fmt.Errorf("instance %s: %v", arn, res.Failures)
	}
	return res.ContainerInstances[0].AgentConnected, nil
}

// serviceTasks returns the service's tasks whose desired status is RUNNING.
func (c *cluster) serviceTasks(ctx context.Context, service string) ([]*berthv1.Task, error) {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 30*time.Second)
	defer cancel()
	arns, err := c.listTasks(ctx, service, "RUNNING")
	if err != nil {
		return nil, err
	}
	return c.describeTasks(ctx, arns)
}

// tasks describes the tasks; an error leaves them out (the caller polls).
func (c *cluster) tasks(ctx context.Context, arns ...string) []*berthv1.Task {
	ctx, cancel := context.WithTimeout(c.client.Ctx(ctx), 30*time.Second)
	defer cancel()
	tasks, _ := c.describeTasks(ctx, arns)
	return tasks
}

// running checks that each task's container runs on the agent (want) or
// that none does (!want), by the agent's hollow record.
func (c *cluster) running(ctx context.Context, a *Agent, arns []string, want bool) error {
	list, err := a.Containers(ctx)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, s := range list {
		if s.Status == runtime.StatusRunning {
			has[s.Labels[runtime.LabelTaskARN]] = true
		}
	}
	for _, arn := range arns {
		switch {
		case want && !has[arn]:
			return fmt.Errorf("no container of %s runs on its agent", arn)
		case !want && has[arn]:
			return fmt.Errorf("the stale copy of %s still runs on its agent", arn)
		}
	}
	return nil
}

// countDuplicates adds the containers running twice across the agents now.
func (c *cluster) countDuplicates(ctx context.Context, t *Tally, when string) {
	recs, err := c.records(ctx)
	if err != nil {
		return
	}
	if n, which := duplicates(recs); n > 0 {
		t.Duplicates += n
		t.problem("%s, running twice: %v", when, which)
	}
}

// watchCounts looks at the service every 250 ms until the function it
// returns is called, which returns by how many tasks the service's count of
// RUNNING tasks ever exceeded its desiredCount (DescribeServices'
// runningCount, or its tasks whose lastStatus is RUNNING: the service's
// desiredCount only grows here, and nothing stops its tasks but their
// instance's loss, which stops them at once), how many looks it had, and
// when it saw the count exceeded.
func (c *cluster) watchCounts(ctx context.Context, service string) func() (over, looks int, notes []string) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu    sync.Mutex
		worst int
		seen  []string
		looks int
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			tasks, err := c.serviceTasks(ctx, service)
			if err == nil {
				running := 0
				for _, task := range tasks {
					if task.LastStatus == "RUNNING" {
						running++
					}
				}
				// Described after the count: desiredCount only grows.
				desc, err := c.client.DescribeServices(c.client.Ctx(ctx), &berthv1.DescribeServicesRequest{Services: []string{service}})
				if err == nil && len(desc.Services) == 1 {
					s := desc.Services[0]
					mu.Lock()
					looks++
					for _, n := range []struct {
						what string
						n    int
					}{{"runningCount", int(s.GetRunningCount())}, {"tasks RUNNING", running}} {
						if over := n.n - int(s.GetDesiredCount()); over > 0 {
							worst = max(worst, over)
							if len(seen) < 10 {
								seen = append(seen, fmt.Sprintf("%s %d of desiredCount %d at %s", n.what, n.n, s.GetDesiredCount(), time.Now().Format(time.TimeOnly)))
							}
						}
					}
					mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() (int, int, []string) {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return worst, looks, seen
	}
}
