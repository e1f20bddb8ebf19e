package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/datadriven"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

const scenarioTaskARN = "arn:aws:ecs:us-east-1:000000000000:task/default/0123abcd"

// newTask builds the task the command describes and feeds it its adopted containers.
func (sc *scenario) newTask(d *datadriven.TestData) (string, error) {
	sc.clock = 0
	td := &berthv1.TaskDefinition{Family: "web", Revision: 3, NetworkMode: arg(d, "mode", "bridge"), Memory: arg(d, "memory", ""),
		PidMode: arg(d, "pid", ""), IpcMode: arg(d, "ipc", "")}
	var states []runtime.ContainerState
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		def, state, err := parseContainer(line)
		if err != nil {
			return "", err
		}
		td.ContainerDefinitions = append(td.ContainerDefinitions, def)
		if state != nil {
			states = append(states, *state)
		}
	}
	td.Volumes = volumes(arg(d, "volumes", ""))
	a := &berthv1.TaskAssignment{
		Task:           &berthv1.Task{TaskArn: scenarioTaskARN, DesiredStatus: arg(d, "desired", StatusRunning)},
		TaskDefinition: td,
	}
	sc.task = newTask(a, Options{ContainerInstanceARN: "ci", PauseImage: "pause", StopTimeout: DefaultStopTimeout,
		VolumesDir: "/vols"})
	return sc.step(adopted{states: states}), nil
}

// parseContainer reads "NAME [key=value]..." into a container definition and, with
// adopt=, the state the runtime holds of it.
func parseContainer(line string) (*berthv1.ContainerDefinition, *runtime.ContainerState, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, nil, errors.New("empty container line")
	}
	def := &berthv1.ContainerDefinition{Name: fields[0], Image: "img-" + fields[0]}
	var state *runtime.ContainerState
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "essential":
			def.Essential = new(v == "true")
		case "depends":
			for _, dep := range strings.Split(v, ",") {
				name, cond, _ := strings.Cut(dep, ":")
				def.DependsOn = append(def.DependsOn, &berthv1.ContainerDependency{ContainerName: name, Condition: cond})
			}
		case "links":
			def.Links = strings.Split(v, ",")
		case "health":
			def.HealthCheck = &berthv1.HealthCheck{Command: []string{"CMD", "true"}, Interval: new(int32(30)), Timeout: new(int32(5)), Retries: new(int32(3))}
		case "stop":
			n, _ := strconv.Atoi(v)
			def.StopTimeout = new(int32(n))
		case "start":
			n, _ := strconv.Atoi(v)
			def.StartTimeout = new(int32(n))
		case "image":
			def.Image = v
		case "ports":
			for _, p := range strings.Split(v, ",") {
				c, h, _ := strings.Cut(p, ":")
				cp, _ := strconv.Atoi(c)
				hp, _ := strconv.Atoi(h)
				def.PortMappings = append(def.PortMappings, &berthv1.PortMapping{ContainerPort: int32(cp), HostPort: new(int32(hp)), Protocol: "tcp"})
			}
		case "mounts":
			for _, m := range strings.Split(v, ",") {
				parts := strings.Split(m, ":")
				def.MountPoints = append(def.MountPoints, &berthv1.MountPoint{SourceVolume: parts[0],
					ContainerPath: parts[1], ReadOnly: len(parts) > 2 && parts[2] == "ro"})
			}
		case "from":
			name, mode, _ := strings.Cut(v, ":")
			def.VolumesFrom = append(def.VolumesFrom, &berthv1.VolumeFrom{SourceContainer: name, ReadOnly: mode == "ro"})
		case "adopt":
			state = adoptedState(fields[0], v)
		default:
			return nil, nil, fmt.Errorf("container %s: unknown %q", fields[0], k)
		}
	}
	return def, state, nil
}

// volumes reads "name[:SOURCE_PATH|:docker],..." into task volumes.
func volumes(s string) []*berthv1.Volume {
	var out []*berthv1.Volume
	for _, v := range strings.Split(s, ",") {
		name, src, _ := strings.Cut(v, ":")
		switch {
		case name == "":
		case src == "docker":
			out = append(out, &berthv1.Volume{Name: name, DockerVolumeConfiguration: &berthv1.DockerVolumeConfiguration{Scope: "task"}})
		case src != "":
			out = append(out, &berthv1.Volume{Name: name, Host: &berthv1.HostVolumeProperties{SourcePath: src}})
		default:
			out = append(out, &berthv1.Volume{Name: name})
		}
	}
	return out
}

func adoptedState(name, v string) *runtime.ContainerState {
	s := &runtime.ContainerState{ID: "id-" + name, Status: runtime.Status(v), Health: runtime.HealthNone,
		Labels: map[string]string{runtime.LabelContainerName: name}}
	if code, ok := strings.CutPrefix(v, "exited:"); ok {
		s.Status = runtime.StatusExited
		s.ExitCode, _ = strconv.Atoi(code)
	}
	return s
}

// inputs reads a command into the machine inputs it stands for, one per name.
func (sc *scenario) inputs(d *datadriven.TestData) ([]input, error) {
	var err error
	if e := arg(d, "err", ""); e != "" {
		err = errors.New(e)
	}
	switch d.Cmd {
	case "desire":
		a := &berthv1.TaskAssignment{Task: &berthv1.Task{TaskArn: sc.task.arn, DesiredStatus: d.CmdArgs[0].Key,
			StopCode: arg(d, "code", ""), StoppedReason: arg(d, "reason", "")}}
		return []input{assigned{a: a}}, nil
	case "unassign":
		return []input{unassigned{}}, nil
	case "volumes-removed":
		return []input{volumesRemoved{}}, nil
	case "wake":
		return []input{woke{}}, nil
	}
	var ins []input
	for _, name := range names(d) {
		in, perr := sc.input(d, name, err)
		if perr != nil {
			return nil, perr
		}
		ins = append(ins, in)
	}
	return ins, nil
}

func (sc *scenario) input(d *datadriven.TestData, name string, err error) (input, error) {
	id := "id-" + strings.ReplaceAll(name, pauseName, "pause")
	running := runtime.ContainerState{ID: id, Status: runtime.StatusRunning, Health: runtime.HealthStarting}
	switch d.Cmd {
	case "pulled":
		if c := sc.task.container(name); err != nil && c != nil {
			err = runtime.CannotPull(c.spec.Image, err)
		}
		return pulled{container: name, err: err}, nil
	case "created":
		return created{container: name, id: id, err: err}, nil
	case "started":
		running.NetworkBindings = bindings(arg(d, "ports", ""))
		return started{container: name, state: running, err: err}, nil
	case "healthy", "unhealthy":
		running.Health = runtime.HealthStatus(d.Cmd)
		return observed{container: name, id: id, state: running}, nil
	case "exit":
		return observed{container: name, id: id, state: exitedState(d, id)}, nil
	case "stopped":
		return stopped{container: name, state: exitedState(d, id)}, nil
	case "gone":
		return observed{container: name, id: id, err: runtime.NotFound(id)}, nil
	case "removed":
		return removed{container: name}, nil
	}
	return nil, fmt.Errorf("unknown command %q", d.Cmd)
}

func exitedState(d *datadriven.TestData, id string) runtime.ContainerState {
	code, _ := strconv.Atoi(arg(d, "code", "0"))
	return runtime.ContainerState{ID: id, Status: runtime.StatusExited, ExitCode: code, OOMKilled: d.HasArg("oom")}
}

func bindings(s string) []runtime.NetworkBinding {
	var out []runtime.NetworkBinding
	for _, p := range strings.Split(s, ",") {
		if c, h, ok := strings.Cut(p, ":"); ok {
			cp, _ := strconv.Atoi(c)
			hp, _ := strconv.Atoi(h)
			out = append(out, runtime.NetworkBinding{BindIP: "0.0.0.0", ContainerPort: cp, HostPort: hp, Protocol: "tcp"})
		}
	}
	return out
}

// names are the command's arguments without a value: the containers it is about.
func names(d *datadriven.TestData) []string {
	var out []string
	for _, a := range d.CmdArgs {
		switch {
		case len(a.Vals) > 0 || a.Key == "oom":
		case a.Key == "pause":
			out = append(out, pauseName)
		default:
			out = append(out, a.Key)
		}
	}
	return out
}

func arg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}
