package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TestScenarios runs the task machine scripts in testdata: a task, then the inputs it
// receives, each followed by the actions it asks for and the state it reports.
// Regenerate the expected output with: go test ./agent/engine -run TestScenarios -rewrite
//
//	task [mode=bridge|host|awsvpc|none] [desired=STOPPED] [memory=64] [pid=task|host]
//	     [ipc=task|host|none] [volumes=(NAME[:SOURCE_PATH|:docker],...)]   (VolumesDir is /vols)
//	  (input lines, one per container: NAME [image=IMAGE] [essential=false]
//	   [depends=a:START,b:HEALTHY] [links=a:alias] [health] [stop=SECONDS]
//	   [start=SECONDS] [ports=80:0,443:443]
//	   [mounts=VOLUME:PATH[:ro],...] [from=CONTAINER[:ro]]
//	   [adopt=created|running|exited:CODE])
//	pulled NAME... [err=TEXT]        created NAME... [err=TEXT]
//	started NAME... [err=TEXT] [ports=80:32768]
//	healthy NAME...   unhealthy NAME...   exit NAME [code=N] [oom]   gone NAME
//	stopped NAME... [code=N]         removed NAME...   volumes-removed
//	desire STOPPED [code=UserInitiated] [reason=TEXT]   unassign   times   wake
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		sc := &scenario{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := sc.run(d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

// scenario is one script's task machine and the clock it reads: one second a command.
type scenario struct {
	task  *task
	clock int
}

var scenarioEpoch = time.Unix(1_800_000_000, 0)

func (sc *scenario) run(d *datadriven.TestData) (string, error) {
	if d.Cmd == "task" {
		return sc.newTask(d)
	}
	if sc.task == nil {
		return "", errors.New("no task yet")
	}
	if d.Cmd == "times" {
		return sc.times(), nil
	}
	ins, err := sc.inputs(d)
	if err != nil {
		return "", err
	}
	return sc.step(ins...), nil
}

// step feeds inputs to the machine and prints the actions and the reported state.
func (sc *scenario) step(ins ...input) string {
	sc.clock++
	var b strings.Builder
	for _, in := range ins {
		for _, a := range sc.task.handle(scenarioEpoch.Add(time.Duration(sc.clock)*time.Second), in) {
			fmt.Fprintf(&b, "-> %s\n", strings.ReplaceAll(describeAction(a), pauseName, "pause"))
		}
	}
	b.WriteString(describeState(sc.task.stateChange()))
	return b.String()
}

func describeAction(a action) string {
	switch a.kind {
	case actCreate:
		s := a.spec
		out := fmt.Sprintf("create %s name=%s net=%s", a.container, s.Name, s.NetworkMode)
		if s.PidMode != "" {
			out += " pid=" + s.PidMode
		}
		if s.IpcMode != "" {
			out += " ipc=" + s.IpcMode
		}
		if len(s.Links) > 0 {
			out += " links=" + strings.Join(s.Links, ",")
		}
		if s.Memory > 0 {
			out += fmt.Sprintf(" memory=%d", s.Memory)
		}
		for _, m := range s.Mounts {
			out += fmt.Sprintf(" mount=%s:%s", m.Source, m.Target)
			if m.ReadOnly {
				out += ":ro"
			}
		}
		if len(a.dirs) > 0 {
			out += " mkdir=" + strings.Join(a.dirs, ",")
		}
		return out
	case actStart, actRemove:
		return fmt.Sprintf("%s %s (%s)", a.kind, a.container, a.id)
	}
	return a.String()
}

func describeState(sc *berthv1.TaskStateChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s health=%s", sc.GetLastStatus(), sc.GetHealthStatus())
	if sc.GetStopCode() != "" || sc.GetStoppedReason() != "" {
		fmt.Fprintf(&b, " stopCode=%s reason=%q", sc.GetStopCode(), sc.GetStoppedReason())
	}
	b.WriteString("\n")
	for _, c := range sc.GetContainers() {
		fmt.Fprintf(&b, "  %s %s", c.GetName(), c.GetLastStatus())
		if c.ExitCode != nil {
			fmt.Fprintf(&b, " exit=%d", c.GetExitCode())
		}
		if c.GetHealthStatus() != HealthUnknown {
			fmt.Fprintf(&b, " health=%s", c.GetHealthStatus())
		}
		for _, nb := range c.GetNetworkBindings() {
			fmt.Fprintf(&b, " port=%d->%d/%s", nb.GetContainerPort(), nb.GetHostPort(), nb.GetProtocol())
		}
		if c.GetReason() != "" {
			fmt.Fprintf(&b, " reason=%q", c.GetReason())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// times prints the task's timestamps as seconds of the scenario's clock.
func (sc *scenario) times() string {
	s := sc.task.stateChange()
	at := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return strconv.Itoa(int(v - float64(scenarioEpoch.Unix())))
	}
	return fmt.Sprintf("pullStarted=%s pullStopped=%s started=%s stopping=%s executionStopped=%s\n",
		at(s.GetPullStartedAt()), at(s.GetPullStoppedAt()), at(s.GetStartedAt()),
		at(s.GetStoppingAt()), at(s.GetExecutionStoppedAt()))
}
