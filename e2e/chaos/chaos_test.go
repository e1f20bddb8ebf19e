package chaos

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The suite's size in CI: BERTH_CHAOS_SEED replays a seed.
const (
	ciControlPlaneKills = 10
	ciAgentKills        = 10
	ciPartitions        = 1
)

func TestMain(m *testing.M) {
	MaybeRunAgent()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if total.ran > 1 {
		fmt.Println(total.String()) // the scenarios' line together
	}
	os.Exit(code)
}

// total adds up the tallies of the scenarios run.
var total struct {
	sync.Mutex
	Tally
	ran int
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// controlPlaneBinary builds cmd/controlplane once per test process.
func controlPlaneBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "berth-chaos-"); binErr != nil {
			return
		}
		binPath, binErr = BuildControlPlane(binDir, RaceEnabled)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func seed(t *testing.T) uint64 {
	if s := os.Getenv("BERTH_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("BERTH_CHAOS_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

func report(t *testing.T, tally Tally, err error) {
	t.Helper()
	total.Lock()
	total.Add(tally)
	total.ran++
	total.Unlock()
	t.Logf("seed %d (BERTH_CHAOS_SEED=%d replays its choices)", tally.Seed, tally.Seed)
	t.Log(tally.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tally.HeldBack {
		t.Logf("held back by the start-failure back-off: %s", s)
	}
	for _, p := range tally.Problems {
		t.Error(p)
	}
	if !tally.OK() {
		t.Fatalf("chaos found damage: %s", tally)
	}
}

// TestControlPlaneKills: kill -9 of the control plane at random points of
// mixed writes from several clients, then a restart on the same data dir:
// every acknowledged write present, no container running twice, services
// back to their desired counts.
func TestControlPlaneKills(t *testing.T) {
	bin := controlPlaneBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tally, err := ControlPlaneKills(ctx, Options{Seed: seed(t), Kills: ciControlPlaneKills, Clients: 4, Agents: 3,
		ControlPlaneBin: bin, Dir: t.TempDir(), Logf: t.Logf})
	report(t, tally, err)
}

// TestAgentKills: kill -9 of hollow agents at random points while their
// containers start and stop, then a restart on the same data dir: the same
// container instance, no container running twice, none without its task.
func TestAgentKills(t *testing.T) {
	bin := controlPlaneBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tally, err := AgentKills(ctx, Options{Seed: seed(t), Kills: ciAgentKills, Clients: 3, Agents: 3,
		ControlPlaneBin: bin, Dir: t.TempDir(), Logf: t.Logf})
	report(t, tally, err)
}

// TestPartition: a hollow agent in a network namespace of the test's own,
// reaching the control plane over a veth pair, cut off for longer than the
// agent TTL and healed, again and again: its tasks lost and replaced on the
// other agents while its copies still run, those stale copies stopped once
// it is back as the same instance, and never more tasks of the service
// counted RUNNING than it wants.
func TestPartition(t *testing.T) {
	if err := CanPartition(); err != nil {
		if os.Getenv("BERTH_REQUIRE_DOCKER") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	bin := controlPlaneBinary(t)
	link, err := NewLink()
	t.Cleanup(func() {
		if err := link.Remove(); err != nil {
			t.Errorf("removing the network namespace: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tally, err := Partitions(ctx, Options{Seed: seed(t), Partitions: ciPartitions, Clients: 3, Agents: 3,
		ControlPlaneBin: bin, Dir: t.TempDir(), Logf: t.Logf}, link)
	report(t, tally, err)
}
