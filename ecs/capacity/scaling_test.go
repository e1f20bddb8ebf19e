package capacity

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/scheduler"
	"github.com/berth/berth/store"
)

// TestScalingScenarios runs testdata/scaling/*.txt (regenerate with
// -rewrite): a capacity provider's instance group told as commands, each
// DecideScaling printed and then carried out as the loop and the agents
// would.
//
//	provider target=100 min-step=1 max-step=10 warmup=300s [disabled]
//	config scale-in-after=15m max=100 size=2048/4096
//	instance id=i1 [busy] [daemon] [unmanaged] [protected]   (daemon: runs DAEMON tasks only; protected: one of its tasks is)
//	wait n=3 size=1024/2048 [port=80] [distinct group=g]
//	place                                     the waiting tasks go onto new busy instances
//	decide                                    decide, print, carry out
//	register                                  the instances starting register, idle
//	busy id=i1 / idle id=i1 / daemon-stopped id=i1 / unprotect id=i1
//	start-failed                              the last start failed: back-off 5s
//	tick 1m
func TestScalingScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scaling", func(t *testing.T, path string) {
		sc := &scalingScenario{now: time.Unix(1_700_000_000, 0),
			sc:  Scaling{Enabled: true, TargetCapacity: 100, MinStep: 1, MaxStep: 10000, WarmUp: 300 * time.Second},
			cfg: GroupConfig{ScaleInAfter: 15 * time.Minute, MaxInstances: 100}, size: scheduler.Resources{CPU: 2048, Memory: 4096}}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return sc.run(t, d)
		})
	})
}

type scalingScenario struct {
	sc          Scaling
	cfg         GroupConfig
	size        scheduler.Resources
	now         time.Time
	instances   []GroupInstance
	starting    int
	waiting     []TaskNeed
	history     History
	startsAfter time.Time
	next        int
}

func (s *scalingScenario) run(t *testing.T, d *datadriven.TestData) string {
	args := map[string]string{}
	for _, a := range d.CmdArgs {
		args[a.Key] = ""
		if len(a.Vals) > 0 {
			args[a.Key] = a.Vals[0]
		}
	}
	has := func(k string) bool { _, ok := args[k]; return ok }
	num := func(k string) int { n, _ := strconv.Atoi(args[k]); return n }
	dur := func(k string) time.Duration {
		v, err := time.ParseDuration(args[k])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	size := func(k string) (int64, int64) {
		c, m, _ := strings.Cut(args[k], "/")
		cpu, _ := strconv.ParseInt(c, 10, 64)
		mem, _ := strconv.ParseInt(m, 10, 64)
		return cpu, mem
	}
	find := func() *GroupInstance {
		for i := range s.instances {
			if s.instances[i].ID == args["id"] {
				return &s.instances[i]
			}
		}
		t.Fatalf("no instance %s", args["id"])
		return nil
	}
	switch d.Cmd {
	case "provider":
		s.sc = Scaling{Enabled: !has("disabled"), TargetCapacity: num("target"), MinStep: num("min-step"), MaxStep: num("max-step")}
		if has("warmup") {
			s.sc.WarmUp = dur("warmup")
		}
	case "config":
		if has("scale-in-after") {
			s.cfg.ScaleInAfter = dur("scale-in-after")
		}
		if has("max") {
			s.cfg.MaxInstances = num("max")
		}
		if has("size") {
			s.size.CPU, s.size.Memory = size("size")
		}
	case "instance":
		s.add(args["id"], !has("unmanaged"))
		in := &s.instances[len(s.instances)-1]
		in.Busy, in.Protected = has("busy"), has("protected")
		if has("busy") || has("daemon") {
			in.Tasks = 1
		}
	case "wait":
		cpu, mem := size("size")
		for range max(num("n"), 1) {
			n := TaskNeed{Group: args["group"], CPU: cpu, Memory: mem, Distinct: has("distinct")}
			if has("port") {
				n.Ports = []int32{int32(num("port"))}
			}
			s.waiting = append(s.waiting, n)
		}
	case "place":
		for range instancesFor(s.waiting, s.size) {
			s.add("", true)
			s.instances[len(s.instances)-1].Busy, s.instances[len(s.instances)-1].Tasks = true, 1
		}
		s.waiting = nil
	case "decide":
		return s.decide()
	case "register":
		for range s.starting {
			s.add("", true)
		}
		s.starting = 0
	case "busy":
		in := find()
		in.Busy, in.Tasks = true, in.Tasks+1
	case "idle":
		in := find()
		in.Busy, in.Tasks = false, 0
	case "unprotect":
		find().Protected = false
	case "daemon-stopped":
		find().Tasks = 0
	case "start-failed":
		s.starting--
		s.startsAfter = s.now.Add(5 * time.Second)
	case "tick":
		v, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		s.now = s.now.Add(v)
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	return ""
}

// add registers an instance (named i<n> unless id is given), idle, newest.
func (s *scalingScenario) add(id string, managed bool) {
	s.next++
	if id == "" {
		id = "i" + strconv.Itoa(s.next)
	}
	in := GroupInstance{ID: id, Status: store.StatusActive, RegisteredAt: float64(s.next)}
	if managed {
		in.Host = hostpool.HostID("h-" + id)
	}
	s.instances = append(s.instances, in)
}

func (s *scalingScenario) decide() string {
	d := DecideScaling(s.cfg, s.sc, GroupState{Instances: s.instances, Starting: s.starting, Waiting: s.waiting, Size: s.size,
		CanProvision: true, StartsAfter: s.startsAfter, History: s.history}, s.now)
	s.history = d.History
	var b strings.Builder
	fmt.Fprintf(&b, "reservation %.4g%% (needed %d, running %d)\n", Reservation(d.Use.Running, d.Use.Needed), d.Use.Needed, d.Use.Running)
	fmt.Fprintf(&b, "step %+d", d.Step)
	if d.ScaleOut > 0 {
		fmt.Fprintf(&b, "\nscale-out %d", d.ScaleOut)
		s.starting += d.ScaleOut
	}
	if len(d.Drain) > 0 {
		fmt.Fprintf(&b, "\ndrain %s", strings.Join(d.Drain, " "))
		for i := range s.instances {
			if d.History.Draining[s.instances[i].ID] {
				s.instances[i].Status = store.StatusDraining
			}
		}
	}
	removed := map[string]bool{}
	for _, in := range d.Remove {
		fmt.Fprintf(&b, "\nremove %s", in.ID)
		removed[in.ID] = true
		delete(s.history.Draining, in.ID)
	}
	var keep []GroupInstance
	for _, in := range s.instances {
		if !removed[in.ID] {
			keep = append(keep, in)
		}
	}
	s.instances = keep
	if !s.history.Below.IsZero() {
		fmt.Fprintf(&b, "\nbelow target for %s", s.now.Sub(s.history.Below))
	}
	if w := s.history.NextScaleOut.Sub(s.now); w > 0 {
		fmt.Fprintf(&b, "\nwarming up for %s", w)
	}
	var draining []string
	for id := range s.history.Draining {
		draining = append(draining, id)
	}
	sort.Strings(draining)
	if len(draining) > 0 {
		fmt.Fprintf(&b, "\ndraining %s", strings.Join(draining, " "))
	}
	return b.String()
}
