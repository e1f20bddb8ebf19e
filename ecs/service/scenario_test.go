package service

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs testdata/*.txt (regenerate with -rewrite): a service's
// life told as commands, each decision printed and then carried out as the
// controller and agents would.
//
//	service name=web desired=3 min=100 max=200 [daemon] [breaker] [rollback] [external]
//	deployment id=d1 taskdef=web:1 [state=COMPLETED]   (the newest is PRIMARY)
//	taskset id=s1 taskdef=web:1 scale=50 [primary]     a task set (EXTERNAL)
//	scale-set id=s1 scale=100                          UpdateTaskSet
//	primary-set id=s2                                  UpdateServicePrimaryTaskSet
//	drain-set id=s1                                    DeleteTaskSet
//	instance id=i1 [status=DRAINING] [disconnected] [ineligible] [others=N]
//	set desired=N                                      change the service
//	decide                                             decide, print, carry out
//	run [ids...]                                       pending tasks reach RUNNING (all without ids)
//	healthy [ids...] / unhealthy ids...                health of tasks with a health check
//	exit id code=EssentialContainerExited              a task stops on its own
//	fail-pending                                       every pending task fails to start
//	finish-stops                                       tasks asked to stop reach STOPPED
//	lose instance=i1                                   an instance's tasks are lost
//	tick 40s                                           time passes
//	protect ids... for=10m / unprotect ids...          scale-in protection of tasks
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		sc := &scenario{now: time.Unix(1_700_000_000, 0)}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return sc.run(t, d)
		})
	})
}

type scenario struct {
	in      Input
	now     time.Time
	nextID  int
	nextDep int
}

func (sc *scenario) run(t *testing.T, d *datadriven.TestData) string {
	args := map[string]string{}
	var words []string
	for _, a := range d.CmdArgs {
		if len(a.Vals) > 0 {
			args[a.Key] = a.Vals[0]
		} else {
			words = append(words, a.Key)
			args[a.Key] = ""
		}
	}
	has := func(k string) bool { _, ok := args[k]; return ok }
	num := func(k string) int { n, _ := strconv.Atoi(args[k]); return n }
	s := &sc.in.Service
	switch d.Cmd {
	case "service":
		*s = Service{Name: args["name"], SchedulingStrategy: Replica, DesiredCount: num("desired"),
			MinHealthyPercent: num("min"), MaxPercent: num("max"), CircuitBreaker: has("breaker"), Rollback: has("rollback")}
		if has("daemon") {
			s.SchedulingStrategy = Daemon
		}
		s.External = has("external")
	case "taskset":
		ts := TaskSet{ID: args["id"], Status: Active, TaskDefinition: args["taskdef"], Scale: float(args["scale"])}
		if has("primary") {
			ts.Status = Primary
		}
		s.TaskSets = append(s.TaskSets, ts)
	case "scale-set", "primary-set", "drain-set":
		for i := range s.TaskSets {
			ts := &s.TaskSets[i]
			switch {
			case d.Cmd == "scale-set" && ts.ID == args["id"]:
				ts.Scale = float(args["scale"])
			case d.Cmd == "primary-set" && ts.Status != TaskSetDraining:
				ts.Status = map[bool]string{true: Primary, false: Active}[ts.ID == args["id"]]
			case d.Cmd == "drain-set" && ts.ID == args["id"]:
				ts.Status = TaskSetDraining
			}
		}
	case "deployment":
		state := args["state"]
		if state == "" {
			state = InProgress
		}
		for i := range s.Deployments {
			s.Deployments[i].Status = Active
		}
		s.Deployments = append([]Deployment{{ID: args["id"], Status: Primary, TaskDefinition: args["taskdef"],
			RolloutState: state, CreatedAt: sc.now}}, s.Deployments...)
	case "instance":
		in := Instance{ID: args["id"], Status: "ACTIVE", Connected: !has("disconnected"), Eligible: !has("ineligible")}
		in.OtherTasks = num("others")
		if st := args["status"]; st != "" {
			in.Status = st
		}
		sc.setInstance(in)
	case "set":
		s.DesiredCount = num("desired")
	case "tick":
		dur, err := time.ParseDuration(words[0])
		if err != nil {
			t.Fatal(err)
		}
		sc.now = sc.now.Add(dur)
	case "run":
		sc.each(words, func(tk *Task) bool { return tk.LastStatus == "PENDING" && tk.DesiredStatus == Running }, func(tk *Task) {
			tk.LastStatus, tk.StartedAt, tk.EverRan = Running, sc.now, true
		})
	case "healthy", "unhealthy":
		h := map[string]string{"healthy": healthHealthy, "unhealthy": healthUnhealthy}[d.Cmd]
		sc.each(words, func(tk *Task) bool { return tk.LastStatus == Running }, func(tk *Task) {
			tk.HasHealthCheck, tk.HealthStatus = true, h
		})
	case "exit":
		sc.each(words[:1], func(*Task) bool { return true }, func(tk *Task) {
			tk.LastStatus, tk.DesiredStatus, tk.StopCode = Stopped, Stopped, args["code"]
		})
	case "fail-pending":
		sc.each(nil, func(tk *Task) bool { return tk.LastStatus == "PENDING" }, func(tk *Task) {
			tk.LastStatus, tk.DesiredStatus, tk.StopCode = Stopped, Stopped, StopFailedToStart
		})
	case "fail-elb": // deployment=ID: its running tasks fail their ELB health checks
		sc.each(nil, func(tk *Task) bool { return tk.LastStatus == Running && tk.Deployment == args["deployment"] }, func(tk *Task) {
			tk.LastStatus, tk.DesiredStatus, tk.StopCode, tk.FailedHealthChecks = Stopped, Stopped, StopSchedulerInitiated, true
		})
	case "finish-stops":
		sc.each(nil, func(tk *Task) bool { return tk.DesiredStatus == Stopped && tk.LastStatus != Stopped }, func(tk *Task) {
			tk.LastStatus = Stopped
		})
	case "lose":
		sc.each(nil, func(tk *Task) bool { return tk.Instance == args["instance"] && tk.LastStatus != Stopped }, func(tk *Task) {
			tk.LastStatus, tk.DesiredStatus = Stopped, Stopped
		})
	case "protect", "unprotect":
		var until time.Time
		if d.Cmd == "protect" {
			dur, err := time.ParseDuration(args["for"])
			if err != nil {
				t.Fatal(err)
			}
			until = sc.now.Add(dur)
		}
		ids := slices.DeleteFunc(slices.Clone(words), func(w string) bool { return w == "for" })
		sc.each(ids, func(*Task) bool { return true }, func(tk *Task) { tk.ProtectedUntil = until })
	case "decide":
		return sc.decide()
	default:
		t.Fatalf("unknown command %q", d.Cmd)
	}
	return ""
}

func float(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func (sc *scenario) taskSetStatus(id string) string {
	for _, ts := range sc.in.Service.TaskSets {
		if ts.ID == id {
			return ts.Status
		}
	}
	return ""
}

func (sc *scenario) setInstance(in Instance) {
	for i := range sc.in.Instances {
		if sc.in.Instances[i].ID == in.ID {
			sc.in.Instances[i] = in
			return
		}
	}
	sc.in.Instances = append(sc.in.Instances, in)
}

// each changes the tasks named in ids (all when empty) that match.
func (sc *scenario) each(ids []string, match func(*Task) bool, change func(*Task)) {
	for i := range sc.in.Tasks {
		tk := &sc.in.Tasks[i]
		if (len(ids) == 0 || contains(ids, tk.ID)) && match(tk) {
			change(tk)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decide runs Decide, prints it, and carries it out: started tasks appear
// PENDING on instances in turn, stopped ones are asked to stop.
func (sc *scenario) decide() string {
	sc.in.Now = sc.now
	sc.nextDep++
	sc.in.NewDeploymentID = fmt.Sprintf("r%d", sc.nextDep)
	out := Decide(sc.in)
	var b strings.Builder
	for _, st := range out.Start {
		if len(st.Instances) > 0 {
			fmt.Fprintf(&b, "start %s on %s\n", st.Deployment, strings.Join(st.Instances, " "))
		} else {
			fmt.Fprintf(&b, "start %s x%d\n", st.Deployment, st.Count)
		}
	}
	for _, st := range out.Stop {
		fmt.Fprintf(&b, "stop %s: %s\n", st.Task, st.Reason)
	}
	for _, si := range out.ScaleIn {
		fmt.Fprintf(&b, "scale-in %s x%d\n", si.Deployment, si.Count)
	}
	for _, ts := range out.TaskSets {
		c := out.Counts[ts.ID]
		fmt.Fprintf(&b, "task set %s %s computed=%d running=%d pending=%d %s\n",
			ts.ID, sc.taskSetStatus(ts.ID), ts.ComputedDesiredCount, c.Running, c.Pending, ts.Stability)
	}
	for _, dep := range out.Deployments {
		c := out.Counts[dep.ID]
		fmt.Fprintf(&b, "deployment %s %s %s %s running=%d pending=%d healthy=%d failed=%d\n",
			dep.ID, dep.Status, dep.TaskDefinition, dep.RolloutState, c.Running, c.Pending, c.Healthy, c.Failed)
	}
	if out.Backoff.NextStart.After(sc.now) {
		fmt.Fprintf(&b, "back-off: %d failures, next start in %s\n", out.Backoff.Failures, out.Backoff.NextStart.Sub(sc.now))
	}
	for _, e := range out.Events {
		fmt.Fprintf(&b, "event: %s\n", e)
	}
	sc.carryOut(out)
	return b.String()
}

func (sc *scenario) carryOut(out Decision) {
	s := &sc.in.Service
	s.Deployments, s.Backoff, s.Steady = out.Deployments, out.Backoff, out.Steady
	if s.External {
		var kept []TaskSet
		for _, ts := range s.TaskSets {
			for _, st := range out.TaskSets {
				if st.ID == ts.ID {
					kept = append(kept, ts)
				}
			}
		}
		s.TaskSets = kept
	}
	for _, st := range out.Stop {
		sc.each([]string{st.Task}, func(*Task) bool { return true }, func(tk *Task) {
			tk.DesiredStatus, tk.StopCode = Stopped, StopSchedulerInitiated
		})
	}
	for _, si := range out.ScaleIn {
		var victims []*Task
		for i := range sc.in.Tasks {
			tk := &sc.in.Tasks[i]
			if tk.Deployment == si.Deployment && tk.DesiredStatus == Running && tk.LastStatus != Stopped {
				victims = append(victims, tk)
			}
		}
		victims = slices.DeleteFunc(victims, func(tk *Task) bool { return tk.ProtectedUntil.After(sc.now) })
		sort.SliceStable(victims, func(i, j int) bool { // pending first, then the newest
			pi, pj := victims[i].LastStatus != Running, victims[j].LastStatus != Running
			if pi != pj {
				return pi
			}
			return victims[i].ID > victims[j].ID
		})
		for _, tk := range victims[:min(si.Count, len(victims))] {
			tk.DesiredStatus, tk.StopCode = Stopped, StopSchedulerInitiated
		}
	}
	var active []string
	for _, in := range sc.in.Instances {
		if in.Status == "ACTIVE" && in.Connected {
			active = append(active, in.ID)
		}
	}
	for _, st := range out.Start {
		on := st.Instances
		for i := 0; len(st.Instances) == 0 && i < st.Count; i++ {
			on = append(on, active[(sc.nextID+i)%len(active)])
		}
		for _, inst := range on {
			sc.nextID++
			sc.in.Tasks = append(sc.in.Tasks, Task{ID: fmt.Sprintf("t%d", sc.nextID), Deployment: st.Deployment,
				Instance: inst, LastStatus: "PENDING", DesiredStatus: Running, HealthStatus: "UNKNOWN"})
		}
	}
}
