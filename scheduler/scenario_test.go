package scheduler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scripts in testdata: clusters built up command by command and
// the placements, failures and scale-in choices they lead to. Regenerate the expected
// output with: go test ./scheduler -run TestScenarios -rewrite
//
//	add-instances n=3 cpu=2048 mem=4096 az=a,b,c [type=t3.large] [status=DRAINING]
//	              [connected=false] [ports=80/tcp,53/udp] [gpu=1] [attr=key:value]
//	set-instance i-2 [status=DRAINING] [connected=false]
//	place group=service:web count=4 cpu=512 mem=1024 [gpu=1] [ports=80/tcp]
//	      [strategy=spread(attribute:ecs.availability-zone),binpack(memory)] [seed=1] [explain]
//	      [dry-run] (the cluster is left as it was)
//	      (input lines: constraints, "distinctInstance" or "memberOf <expression>")
//	scale-in group=service:web count=2 [strategy=...] [seed=1]
//	instances
//	reset
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		sc := &scenario{snap: NewSnapshot(nil)}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := sc.run(d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

// scenario is one script's cluster and the tasks placed so far.
type scenario struct {
	snap  *Snapshot
	tasks []scenarioTask
}

type scenarioTask struct {
	name  string
	group string
	task  RunningTask
}

func (sc *scenario) run(d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "add-instances":
		return sc.addInstances(d)
	case "set-instance":
		return sc.setInstance(d)
	case "place":
		return sc.place(d)
	case "scale-in":
		return sc.scaleIn(d)
	case "instances":
		return sc.describe(), nil
	case "reset":
		*sc = scenario{snap: NewSnapshot(nil)}
		return "", nil
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

func (sc *scenario) addInstances(d *datadriven.TestData) (string, error) {
	instances := slices.Clone(sc.snap.Instances())
	reg := Resources{CPU: argInt(d, "cpu", 2048), Memory: argInt(d, "mem", 4096), GPU: argInt(d, "gpu", 0)}
	azs := argList(d, "az")
	for k := range int(argInt(d, "n", 1)) {
		in := Instance{
			ARN: fmt.Sprintf("i-%d", len(instances)+1), Status: argString(d, "status", StatusActive),
			AgentConnected: argString(d, "connected", "true") == "true",
			Registered:     reg, Remaining: reg, Attributes: map[string]string{},
			UsedPorts: parsePorts(argList(d, "ports")),
		}
		if len(azs) > 0 {
			in.Attributes[AttributeAvailabilityZone] = azs[k%len(azs)]
		}
		if typ := argString(d, "type", ""); typ != "" {
			in.Attributes[AttributeInstanceType] = typ
		}
		for _, kv := range argList(d, "attr") {
			name, v, _ := strings.Cut(kv, ":")
			in.Attributes[name] = v
		}
		instances = append(instances, in)
	}
	sc.snap = NewSnapshot(instances)
	return "", nil
}

func (sc *scenario) setInstance(d *datadriven.TestData) (string, error) {
	instances := slices.Clone(sc.snap.Instances())
	i, ok := sc.snap.IndexOf(d.CmdArgs[0].Key)
	if !ok {
		return "", fmt.Errorf("no instance %s", d.CmdArgs[0].Key)
	}
	instances[i].Status = argString(d, "status", instances[i].Status)
	instances[i].AgentConnected = argString(d, "connected", strconv.FormatBool(instances[i].AgentConnected)) == "true"
	sc.snap = NewSnapshot(instances)
	return "", nil
}

func (sc *scenario) place(d *datadriven.TestData) (string, error) {
	r := Request{
		Group: argString(d, "group", "service:web"), Count: int(argInt(d, "count", 1)),
		Resources:  Resources{CPU: argInt(d, "cpu", 0), Memory: argInt(d, "mem", 0), GPU: argInt(d, "gpu", 0)},
		Ports:      parsePorts(argList(d, "ports")),
		Strategies: parseStrategyList(argString(d, "strategy", "")),
		Seed:       uint64(argInt(d, "seed", 0)),
		Explain:    d.HasArg("explain"),
	}
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		if typ, expr, _ := strings.Cut(line, " "); typ != "" {
			r.Constraints = append(r.Constraints, Constraint{Type: typ, Expression: expr})
		}
	}
	if d.HasArg("dry-run") {
		saved, tasks := cloneAll(sc.snap.Instances()), len(sc.tasks)
		defer func() { sc.snap, sc.tasks = NewSnapshot(saved), sc.tasks[:tasks] }()
	}
	res, err := sc.snap.Place(r)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range res.Placements {
		name := fmt.Sprintf("task-%d", len(sc.tasks)+1)
		sc.tasks = append(sc.tasks, scenarioTask{name: name, group: r.Group,
			task: RunningTask{ARN: name, InstanceARN: p.InstanceARN, Resources: r.Resources}})
		fmt.Fprintf(&b, "%s -> %s\n", name, sc.label(p.Instance))
		writeExplanation(&b, p.Explanation)
	}
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "task %d of %d FAILED %s\n", f.Task+1, r.Count, f.Reason)
		if f.Task == res.Failures[0].Task {
			writeFailure(&b, f)
		}
	}
	return b.String(), nil
}

func writeExplanation(b *strings.Builder, e *Explanation) {
	if e == nil {
		return
	}
	fmt.Fprintf(b, "  %d candidates\n", e.Candidates)
	for _, s := range e.Steps {
		fmt.Fprintf(b, "  %s: %d ranked, %d best, score %d\n", s.Strategy, s.Candidates, s.Best, s.Score)
	}
	if e.TieBreak != "" {
		fmt.Fprintf(b, "  tie: %s\n", e.TieBreak)
	}
}

func writeFailure(b *strings.Builder, f Failure) {
	fmt.Fprintf(b, "  %s\n", f.Detail)
	var counts []string
	for _, c := range f.Filtered {
		counts = append(counts, fmt.Sprintf("%s %d", c.Filter, c.RuledOut))
	}
	if len(counts) > 0 {
		fmt.Fprintf(b, "  ruled out: %s\n", strings.Join(counts, ", "))
	}
	if c := f.Closest; c != nil {
		fmt.Fprintf(b, "  closest: %s lacks %s; short cpu=%d mem=%d gpu=%d\n",
			c.ARN, strings.Join(c.Lacks, ", "), c.Shortfall.CPU, c.Shortfall.Memory, c.Shortfall.GPU)
	}
}

func (sc *scenario) scaleIn(d *datadriven.TestData) (string, error) {
	group := argString(d, "group", "service:web")
	var names []string
	var tasks []RunningTask
	for _, t := range sc.tasks {
		if t.group == group {
			names, tasks = append(names, t.name), append(tasks, t.task)
		}
	}
	chosen, err := sc.snap.ScaleIn(tasks, int(argInt(d, "count", 1)),
		parseStrategyList(argString(d, "strategy", "")), uint64(argInt(d, "seed", 0)))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, k := range chosen {
		i, _ := sc.snap.IndexOf(tasks[k].InstanceARN)
		fmt.Fprintf(&b, "stop %s on %s\n", names[k], sc.label(i))
	}
	return b.String(), nil
}

func (sc *scenario) describe() string {
	var b strings.Builder
	for i, in := range sc.snap.Instances() {
		var groups []string
		for g, n := range in.TasksByGroup {
			groups = append(groups, fmt.Sprintf("%s=%d", g, n))
		}
		slices.Sort(groups)
		fmt.Fprintf(&b, "%s %s cpu=%d/%d mem=%d/%d tasks=%d %s\n", sc.label(i), in.Status,
			in.Remaining.CPU, in.Registered.CPU, in.Remaining.Memory, in.Registered.Memory,
			in.RunningTasksCount, strings.Join(groups, " "))
	}
	return b.String()
}

// label names instance i with its AZ, as in "i-1 (a)".
func (sc *scenario) label(i int) string {
	in := sc.snap.Instances()[i]
	if az, ok := in.Attributes[AttributeAvailabilityZone]; ok {
		return in.ARN + " (" + az + ")"
	}
	return in.ARN
}

// parseStrategyList reads "spread(attribute:x),binpack(memory),random".
func parseStrategyList(s string) []Strategy {
	var out []Strategy
	for s != "" {
		item := s
		if end := strings.IndexAny(s, "(,"); end >= 0 && s[end] == ',' {
			item, s = s[:end], s[end+1:]
		} else if end >= 0 {
			close := strings.IndexByte(s, ')')
			item, s = s[:close+1], strings.TrimPrefix(s[close+1:], ",")
		} else {
			s = ""
		}
		typ, field, _ := strings.Cut(strings.TrimSuffix(item, ")"), "(")
		out = append(out, Strategy{Type: typ, Field: field})
	}
	return out
}

// parsePorts reads "80/tcp,53/udp".
func parsePorts(list []string) []Port {
	var out []Port
	for _, p := range list {
		num, proto, _ := strings.Cut(p, "/")
		n, _ := strconv.Atoi(num)
		out = append(out, Port{HostPort: uint16(n), Protocol: Protocol(proto)})
	}
	return out
}

func argString(d *datadriven.TestData, key, def string) string {
	arg, ok := d.Arg(key)
	if !ok || len(arg.Vals) == 0 {
		return def
	}
	return arg.Vals[0]
}

func argInt(d *datadriven.TestData, key string, def int64) int64 {
	n, err := strconv.ParseInt(argString(d, key, strconv.FormatInt(def, 10)), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("%s: %s=%s is not a number", d.Pos, key, argString(d, key, "")))
	}
	return n
}

func argList(d *datadriven.TestData, key string) []string {
	if v := argString(d, key, ""); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}
