package fargate

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/berth/berth/hostpool"
)

// TestPoolScenarios runs testdata/pool/*.txt (regenerate with -rewrite): a
// cluster's Fargate pool told as commands, each DecidePool printed and then
// carried out as the loop, the provisioner and the agents would.
//
//	config host=1024/2048 cooldown=2m max=256 [static]
//	host id=i1 size=1024/2048 [used=512/1024] [tasks=2] [down] [unmanaged]
//	wait n=4 size=256/512               tasks t1.. wait for capacity
//	decide                              decide, print, carry out
//	register                            the hosts starting register (i-s1, ...)
//	finish host=i1                      the host's tasks end
//	start-failed                        the last start failed: back-off 5s
//	tick 1m                             time passes
//	pool                                print the hosts
func TestPoolScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/pool", func(t *testing.T, path string) {
		sc := &poolScenario{now: time.Unix(1_700_000_000, 0), idle: map[string]time.Time{},
			cfg: PoolConfig{HostCPU: 1024, HostMemory: 2048, Cooldown: 2 * time.Minute, MaxHosts: 256}}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return sc.run(t, d)
		})
	})
}

type poolScenario struct {
	cfg         PoolConfig
	static      bool
	now         time.Time
	hosts       []PoolHost
	starting    []hostpool.Starting
	waiting     []WaitingTask
	idle        map[string]time.Time
	startsAfter time.Time
	nextTask    int
	nextHost    int
}

func size(t *testing.T, s string) (int64, int64) {
	t.Helper()
	c, m, ok := strings.Cut(s, "/")
	cpu, err1 := strconv.ParseInt(c, 10, 64)
	mem, err2 := strconv.ParseInt(m, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("size %q: want cpu/memory", s)
	}
	return cpu, mem
}

func (sc *poolScenario) run(t *testing.T, d *datadriven.TestData) string {
	args := map[string]string{}
	for _, a := range d.CmdArgs {
		args[a.Key] = ""
		if len(a.Vals) > 0 {
			args[a.Key] = a.Vals[0]
		}
	}
	has := func(k string) bool { _, ok := args[k]; return ok }
	num := func(k string) int { n, _ := strconv.Atoi(args[k]); return n }
	switch d.Cmd {
	case "config":
		if has("host") {
			c, m := size(t, args["host"])
			sc.cfg.HostCPU, sc.cfg.HostMemory = int(c), int(m)
		}
		if has("cooldown") {
			sc.cfg.Cooldown, _ = time.ParseDuration(args["cooldown"])
		}
		if has("max") {
			sc.cfg.MaxHosts = num("max")
		}
		sc.static = has("static")
	case "host":
		h := PoolHost{Instance: args["id"], Host: hostpool.HostID("h-" + args["id"]), Tasks: num("tasks"), Ready: !has("down")}
		h.CPU, h.Memory = size(t, args["size"])
		if has("used") {
			h.ReservedCPU, h.ReservedMemory = size(t, args["used"])
		}
		if has("unmanaged") {
			h.Host = ""
		}
		sc.hosts = append(sc.hosts, h)
	case "wait":
		cpu, mem := size(t, args["size"])
		for range max(num("n"), 1) {
			sc.nextTask++
			sc.waiting = append(sc.waiting, WaitingTask{ID: "t" + strconv.Itoa(sc.nextTask), CPU: cpu, Memory: mem})
		}
	case "decide":
		return sc.decide()
	case "register":
		for _, s := range sc.starting {
			sc.hosts = append(sc.hosts, PoolHost{Instance: "i-" + string(s.ID), Host: s.ID, CPU: int64(s.CPU), Memory: int64(s.Memory), Ready: true})
		}
		sc.starting = nil
	case "finish":
		for i := range sc.hosts {
			if sc.hosts[i].Instance == args["host"] {
				sc.hosts[i].Tasks, sc.hosts[i].ReservedCPU, sc.hosts[i].ReservedMemory = 0, 0, 0
			}
		}
	case "start-failed":
		sc.starting = sc.starting[:len(sc.starting)-1]
		sc.startsAfter = sc.now.Add(5 * time.Second)
	case "tick":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		sc.now = sc.now.Add(dur)
	case "pool":
		return sc.pool()
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	return ""
}

func (sc *poolScenario) decide() string {
	d := DecidePool(sc.cfg, PoolState{Hosts: sc.hosts, Starting: sc.starting, Waiting: sc.waiting, IdleSince: sc.idle,
		CanProvision: !sc.static, StartsAfter: sc.startsAfter}, sc.now)
	var b strings.Builder
	byID := map[string]WaitingTask{}
	for _, w := range sc.waiting {
		byID[w.ID] = w
	}
	gone := map[string]bool{}
	for _, a := range d.Assign {
		fmt.Fprintf(&b, "assign %s -> %s\n", a.Task, a.Instance)
		gone[a.Task] = true
		for i := range sc.hosts {
			if h := &sc.hosts[i]; h.Instance == a.Instance {
				h.Tasks++
				h.ReservedCPU += byID[a.Task].CPU
				h.ReservedMemory += byID[a.Task].Memory
			}
		}
	}
	var left []WaitingTask
	for _, w := range sc.waiting {
		if !gone[w.ID] {
			left = append(left, w)
		}
	}
	sc.waiting = left
	for _, s := range d.Start {
		sc.nextHost++
		id := hostpool.HostID("s" + strconv.Itoa(sc.nextHost))
		fmt.Fprintf(&b, "start %s %d/%d\n", id, s.CPU, s.Memory)
		sc.starting = append(sc.starting, hostpool.Starting{ID: id, CPU: s.CPU, Memory: s.Memory})
	}
	for _, s := range d.Stop {
		fmt.Fprintf(&b, "stop %s (idle %s)\n", s.Instance, s.Idle)
		for i, h := range sc.hosts {
			if h.Instance == s.Instance {
				sc.hosts = append(sc.hosts[:i], sc.hosts[i+1:]...)
				break
			}
		}
	}
	for _, h := range sc.hosts {
		if since, ok := d.IdleSince[h.Instance]; ok {
			fmt.Fprintf(&b, "idle %s since %s\n", h.Instance, sc.now.Sub(since))
		}
	}
	fmt.Fprintf(&b, "waiting %d", d.Waiting)
	if d.Full {
		b.WriteString(" (pool full)")
	}
	sc.idle = d.IdleSince
	return b.String()
}

func (sc *poolScenario) pool() string {
	var b strings.Builder
	for _, h := range sc.hosts {
		fmt.Fprintf(&b, "%s %d/%d used %d/%d tasks=%d\n", h.Instance, h.CPU, h.Memory, h.ReservedCPU, h.ReservedMemory, h.Tasks)
	}
	for _, s := range sc.starting {
		fmt.Fprintf(&b, "%s starting %d/%d\n", s.ID, s.CPU, s.Memory)
	}
	fmt.Fprintf(&b, "waiting %d", len(sc.waiting))
	return b.String()
}
