package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"
)

// ControlPlaneKills starts a control plane and o.Agents hollow agents, sets
// o.Clients writers going, and o.Kills times kills the control plane with
// SIGKILL at a random moment (after the writers had an answer since its
// last start), checks the state file, and starts it again on the same data
// dir. Then it stops the writers and checks that every acknowledged write
// is present, that no task's container ever ran twice, and that the cluster
// settles: services at their desired counts, no container without its task.
func ControlPlaneKills(ctx context.Context, o Options) (Tally, error) {
	o.defaults()
	began := time.Now()
	t := Tally{Seed: o.Seed}
	o.Logf("chaos: control plane kills, seed %d", o.Seed)
	c, err := startCluster(ctx, o, "")
	if err != nil {
		return t, err
	}
	defer c.stop()
	rnd := rand.New(rand.NewPCG(o.Seed, 0))
	ws, err := startWriters(ctx, c, o, false)
	if err != nil {
		return t, err
	}
	defer ws.close()
	acked := ws.acked
	for k := range o.Kills {
		// Writes are flowing into this start of the control plane: kill
		// it a random moment after the next acknowledgement.
		before := acked()
		if err := poll(ctx, time.Minute, func() error {
			if acked() <= before {
				return fmt.Errorf("no write acknowledged within a minute of start %d\n%s", k, c.cp.Logs())
			}
			return nil
		}); err != nil {
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(time.Duration(rnd.IntN(1500)) * time.Millisecond):
		}
		c.cp.Kill()
		t.Kills++
		if err := CheckStateFile(filepath.Join(c.cp.DataDir, "state.db")); err != nil {
			t.problem("after kill %d: %v", t.Kills, err)
		}
		if recs, err := c.records(ctx); err == nil {
			if n, which := duplicates(recs); n > t.Duplicates {
				t.Duplicates = n
				t.problem("after kill %d, running twice: %v", t.Kills, which)
			}
		}
		if err := c.cp.Start(2 * time.Minute); err != nil {
			return t, fmt.Errorf("restart after kill %d: %w", t.Kills, err)
		}
		o.Logf("chaos: kill %d of the control plane; %d writes acknowledged so far", t.Kills, acked())
	}
	ws.stop()
	for _, w := range ws.writers {
		if exited, err := c.cp.Exited(); exited {
			return t, fmt.Errorf("the control plane exited on its own after kill %d: %v\n%s", t.Kills, err, c.cp.Logs())
		}
		if err := w.verify(ctx, c, &t); err != nil {
			return t, err
		}
	}
	c.settle(ctx, o.Settle, ws.services, &t)
	if exited, err := c.cp.Exited(); exited {
		return t, fmt.Errorf("the control plane exited on its own after kill %d: %v\n%s", t.Kills, err, c.cp.Logs())
	}
	t.Seconds = time.Since(began).Seconds()
	return t, nil
}

// AgentKills starts a control plane and o.Agents hollow agents, sets
// o.Clients writers going (services scaling, tasks run and stopped, so
// containers start and stop all the time), and o.Kills times kills a random
// agent with SIGKILL at a random moment and starts it again on its data
// dir: it must be the same container instance (the same ARN in its state,
// no new registration). Then it checks every acknowledged write, that no
// task's container ran twice, and that the cluster settles with no
// container without its task on that instance.
func AgentKills(ctx context.Context, o Options) (Tally, error) {
	o.defaults()
	began := time.Now()
	t := Tally{Seed: o.Seed}
	o.Logf("chaos: agent kills, seed %d", o.Seed)
	c, err := startCluster(ctx, o, "")
	if err != nil {
		return t, err
	}
	defer c.stop()
	instances, err := c.instances(ctx)
	if err != nil {
		return t, err
	}
	rnd := rand.New(rand.NewPCG(o.Seed, 0))
	// Writes paced so that containers start and stop while the agents
	// die, without piling up behind them.
	ws, err := startWriters(ctx, c, o, true)
	if err != nil {
		return t, err
	}
	defer ws.close()
	for range o.Kills {
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(time.Duration(200+rnd.IntN(1500)) * time.Millisecond):
		}
		i := rnd.IntN(len(c.agents))
		a := c.agents[i]
		a.Kill()
		t.Kills++
		id, arn, err := a.Identity()
		if err != nil {
			t.problem("agent %d's state after kill %d: %v", i, t.Kills, err)
		} else if instances[id] != arn {
			t.problem("agent %d after kill %d: instance %s has ARN %s in its state, %s in the control plane", i, t.Kills, id, arn, instances[id])
		}
		if err := a.Start(time.Minute); err != nil {
			return t, fmt.Errorf("restart of agent %d after kill %d: %w", i, t.Kills, err)
		}
		if recs, err := c.records(ctx); err == nil {
			if n, which := duplicates(recs); n > t.Duplicates {
				t.Duplicates = n
				t.problem("after agent kill %d, running twice: %v", t.Kills, which)
			}
		}
		o.Logf("chaos: kill %d, agent %d (%s)", t.Kills, i, arn)
	}
	ws.stop()
	for _, w := range ws.writers {
		if err := w.verify(ctx, c, &t); err != nil {
			return t, err
		}
	}
	c.settle(ctx, o.Settle, ws.services, &t)
	now, err := c.instances(ctx)
	if err != nil {
		return t, err
	}
	if len(now) != len(instances) {
		t.problem("%d container instances after the kills, %d before: an agent registered again", len(now), len(instances))
	}
	for id, arn := range instances {
		if now[id] != arn {
			t.problem("instance %s: ARN %s before the kills, %q after", id, arn, now[id])
		}
	}
	t.Seconds = time.Since(began).Seconds()
	return t, nil
}

// writers are o.Clients clients writing at once, each on a connection of
// its own.
type writers struct {
	writers  []*writer
	services []string
	clients  []*Client
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

// startWriters sets up o.Clients writers (a family and a service each) and
// sets them going; paced, each pauses up to 100 ms after each write.
func startWriters(ctx context.Context, c *cluster, o Options, paced bool) (*writers, error) {
	ws := &writers{done: make(chan struct{})}
	for i := range o.Clients {
		cl, err := c.cp.Dial()
		if err != nil {
			ws.close()
			return nil, err
		}
		ws.clients = append(ws.clients, cl)
		w := newWriter(cl, o.Seed, i)
		if err := w.setup(ctx); err != nil {
			ws.close()
			return nil, fmt.Errorf("writer %d: %w", i, err)
		}
		ws.writers, ws.services = append(ws.writers, w), append(ws.services, w.service)
	}
	for i, w := range ws.writers {
		pause := func() time.Duration { return 0 }
		if paced {
			prnd := rand.New(rand.NewPCG(o.Seed, uint64(100+i)))
			pause = func() time.Duration { return time.Duration(prnd.IntN(100)) * time.Millisecond }
		}
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			w.run(ctx, ws.done, pause)
		}()
	}
	return ws, nil
}

// acked is how many writes were acknowledged so far.
func (ws *writers) acked() (n int) {
	for _, w := range ws.writers {
		n += w.acked()
	}
	return n
}

// stop ends the writers and waits for them.
func (ws *writers) stop() {
	ws.once.Do(func() { close(ws.done) })
	ws.wg.Wait()
}

// close stops the writers and closes their connections.
func (ws *writers) close() {
	ws.stop()
	for _, cl := range ws.clients {
		cl.Close()
	}
}
