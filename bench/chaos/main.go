// Command chaos is the long form of berth's chaos suite (e2e/chaos): it
// builds cmd/controlplane, then kills the control plane with SIGKILL during
// mixed writes from several clients, and hollow agents during container
// starts and stops, and cuts a hollow agent in a network namespace of its
// own off for longer than the agent TTL, as many times as asked, and prints
// one JSON object with each scenario's tally and the seed (-seed replays
// its choices). The control plane runs with --no-throttle: the suite tests
// durability, not ECS's rates. Partitions need root and iproute2's ip.
//
//	go run ./bench/chaos -cp-kills 100 -agent-kills 100 -partitions 10
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/berth/berth/e2e/chaos"
)

type result struct {
	Seed         uint64       `json:"seed"`
	Race         bool         `json:"race"`
	ControlPlane *chaos.Tally `json:"control_plane,omitempty"`
	Agents       *chaos.Tally `json:"agents,omitempty"`
	Partitions   *chaos.Tally `json:"partitions,omitempty"`
	Line         string       `json:"line"`
	OK           bool         `json:"ok"`
}

func main() {
	chaos.MaybeRunAgent() // this binary is also the hollow agent
	var (
		cpKills    = flag.Int("cp-kills", 100, "how many times to kill the control plane (0: skip)")
		agentKills = flag.Int("agent-kills", 100, "how many times to kill an agent (0: skip)")
		partitions = flag.Int("partitions", 0, "how many times to cut an agent in a network namespace off past the agent TTL (0: skip; needs root and ip)")
		cutFor     = flag.Duration("partition-for", 0, "keep each partition at least this long (by default until the agent's tasks are lost, about 7 s)")
		clients    = flag.Int("clients", 4, "concurrent writers")
		agents     = flag.Int("agents", 3, "hollow agent processes")
		seed       = flag.Uint64("seed", 0, "the random source's seed (0: from the clock)")
		race       = flag.Bool("race", false, "build the control plane with the race detector")
		settle     = flag.Duration("settle", 3*time.Minute, "how long the cluster may take to converge after the kills")
	)
	flag.Parse()
	if err := run(*cpKills, *agentKills, *partitions, *cutFor, *clients, *agents, *seed, *race, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(cpKills, agentKills, partitions int, cutFor time.Duration, clients, agents int, seed uint64, race bool, settle time.Duration) error {
	if partitions > 0 {
		if err := chaos.CanPartition(); err != nil {
			return fmt.Errorf("-partitions: %w", err)
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Fprintf(os.Stderr, "chaos: seed %d\n", seed)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dir, err := os.MkdirTemp("", "berth-chaos-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := chaos.BuildControlPlane(dir, race)
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	res := result{Seed: seed, Race: race, OK: true}
	total := chaos.Tally{}
	add := func(t chaos.Tally) {
		total.Add(t)
		res.OK = res.OK && t.OK()
	}
	if cpKills > 0 {
		sub, err := os.MkdirTemp(dir, "cp-")
		if err != nil {
			return err
		}
		t, err := chaos.ControlPlaneKills(ctx, chaos.Options{Seed: seed, Kills: cpKills, Clients: clients, Agents: agents,
			ControlPlaneBin: bin, Dir: sub, Settle: settle, Logf: logf})
		if err != nil {
			return fmt.Errorf("control plane kills: %w (%s)", err, t)
		}
		res.ControlPlane = &t
		add(t)
	}
	if agentKills > 0 {
		sub, err := os.MkdirTemp(dir, "agents-")
		if err != nil {
			return err
		}
		t, err := chaos.AgentKills(ctx, chaos.Options{Seed: seed, Kills: agentKills, Clients: clients, Agents: agents,
			ControlPlaneBin: bin, Dir: sub, Settle: settle, Logf: logf})
		if err != nil {
			return fmt.Errorf("agent kills: %w (%s)", err, t)
		}
		res.Agents = &t
		add(t)
	}
	if partitions > 0 {
		sub, err := os.MkdirTemp(dir, "partitions-")
		if err != nil {
			return err
		}
		link, err := chaos.NewLink()
		defer func() {
			if err := link.Remove(); err != nil {
				fmt.Fprintln(os.Stderr, "chaos: removing the network namespace:", err)
			}
		}()
		if err != nil {
			return err
		}
		t, err := chaos.Partitions(ctx, chaos.Options{Seed: seed, Partitions: partitions, PartitionFor: cutFor, Clients: clients, Agents: agents,
			ControlPlaneBin: bin, Dir: sub, Settle: settle, Logf: logf}, link)
		if err != nil {
			return fmt.Errorf("partitions: %w (%s)", err, t)
		}
		res.Partitions = &t
		add(t)
	}
	res.Line = total.String()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("damage found: %s", res.Line)
	}
	return nil
}
