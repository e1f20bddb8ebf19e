package autoscaling

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestDecideScenarios runs testdata/decide/*.txt (regenerate with
// -rewrite): a scalable target with target tracking and step scaling
// policies, evaluated once a minute as the loop does.
//
//	target min=1 max=10 current=2 [in-halted] [out-halted]
//	policy name=cpu target=50 [out-cooldown=300] [in-cooldown=300] [disable-scale-in]
//	eval cpu=80 [mem=...] [n=3]       one datapoint per policy a minute (a policy's metric by its name; none: no data), n times
//	step type=ChangeInCapacity steps=0:10:+1,10::+3 [min-magnitude=2] breach=12
//	tick 5m
func TestDecideScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/decide", func(t *testing.T, path string) {
		sc := &scenario{now: time.Unix(1_700_000_000, 0), alarms: map[string]Alarms{}}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return sc.run(t, d)
		})
	})
}

type scenario struct {
	now      time.Time
	current  int32
	bounds   Bounds
	policies []namedPolicy
	alarms   map[string]Alarms
}

type namedPolicy struct {
	name string
	tt   TargetTracking
}

func (s *scenario) run(t *testing.T, d *datadriven.TestData) string {
	args := map[string]string{}
	for _, a := range d.CmdArgs {
		args[a.Key] = ""
		if len(a.Vals) > 0 {
			args[a.Key] = a.Vals[0]
		}
	}
	has := func(k string) bool { _, ok := args[k]; return ok }
	num := func(k string, def int32) int32 {
		if !has(k) {
			return def
		}
		n, err := strconv.Atoi(args[k])
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return int32(n)
	}
	float := func(k string) float64 {
		f, err := strconv.ParseFloat(args[k], 64)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return f
	}
	switch d.Cmd {
	case "target":
		s.current = num("current", 1)
		s.bounds = Bounds{Min: num("min", 1), Max: num("max", 10), ScaleInHalted: has("in-halted"), ScaleOutHalted: has("out-halted")}
		return ""
	case "policy":
		s.policies = append(s.policies, namedPolicy{name: args["name"], tt: TargetTracking{
			Target: float("target"), ScaleOutCooldown: num("out-cooldown", DefaultCooldown),
			ScaleInCooldown: num("in-cooldown", DefaultCooldown), DisableScaleIn: has("disable-scale-in"),
		}})
		return ""
	case "tick":
		dur, err := time.ParseDuration(args["tick"])
		if err != nil {
			dur, _ = time.ParseDuration(d.CmdArgs[0].Key)
		}
		s.now = s.now.Add(dur)
		return ""
	case "eval":
		var b strings.Builder
		for range num("n", 1) {
			var props []Proposal
			var seen []string
			for _, p := range s.policies {
				v, ok := args[p.name]
				m, err := strconv.ParseFloat(v, 64)
				ok = ok && err == nil
				pr := TrackTarget(p.name, p.tt, s.alarms[p.name], m, ok, s.current, s.bounds, s.now)
				s.alarms[p.name] = pr.Alarms
				props = append(props, pr)
				seen = append(seen, fmt.Sprintf("%s high=%d low=%d want=%d", p.name, pr.Alarms.High, pr.Alarms.Low, pr.Desired))
			}
			dec := Decide(s.current, s.bounds, props)
			fmt.Fprintf(&b, "%s  %s", s.now.Format("15:04"), strings.Join(seen, "; "))
			if dec.Desired != s.current {
				fmt.Fprintf(&b, " -> %d->%d (%s)", s.current, dec.Desired, dec.Cause)
				if dec.Out {
					s.bounds.LastScaleOut = s.now
				} else {
					s.bounds.LastScaleIn = s.now
				}
				s.current = dec.Desired
				for k := range s.alarms {
					s.alarms[k] = Alarms{}
				}
			}
			b.WriteString("\n")
			s.now = s.now.Add(time.Minute)
		}
		return b.String()
	case "step":
		var st StepScaling
		st.AdjustmentType = args["type"]
		st.MinMagnitude = num("min-magnitude", 0)
		for _, spec := range strings.Split(args["steps"], ",") {
			p := strings.Split(spec, ":")
			var step Step
			if p[0] != "" {
				v, _ := strconv.ParseFloat(p[0], 64)
				step.Lower = &v
			}
			if p[1] != "" {
				v, _ := strconv.ParseFloat(p[1], 64)
				step.Upper = &v
			}
			adj, _ := strconv.Atoi(p[2])
			step.Adjustment = int32(adj)
			st.Steps = append(st.Steps, step)
		}
		if err := CheckStepScaling("StepScalingPolicyConfiguration", st); err != nil {
			return "error: " + err.Error() + "\n"
		}
		got, ok := StepAdjust(st, s.current, float("breach"))
		if !ok {
			return "no step\n"
		}
		dec := Decide(s.current, s.bounds, []Proposal{{Desired: got, Cause: "step"}})
		out := fmt.Sprintf("step %d->%d, clamped %d\n", s.current, got, dec.Desired)
		s.current = dec.Desired
		return out
	}
	t.Fatalf("unknown command %q", d.Cmd)
	return ""
}
