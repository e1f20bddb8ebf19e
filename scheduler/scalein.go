package scheduler

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// RunningTask is a task of the group being scaled in.
type RunningTask struct {
	ARN         string
	InstanceARN string
	// Resources is what the task reserves; stopping it gives them back to its instance.
	Resources Resources
}

// ScaleIn chooses which count of the group's tasks to stop, by ECS's rule for each
// strategy, and returns their indexes in tasks, in the order chosen:
//
//	binpack(cpu|memory)   the task on the instance left with the most of that resource
//	binpack(resources)    the task on the instance left with the most CPU and memory together
//	spread(attribute:X)   the task on the attribute value with the most tasks of the group
//	spread(instanceId)    the task on the instance with the most tasks of the group
//	random                a seeded draw
//
// Each strategy chooses within the best set of the one before, as in Place, and every
// choice counts the tasks already chosen as stopped. Without strategies ECS's service
// default applies: the availability zone with the most tasks, then the instance with the
// most. Tasks on instances missing from the snapshot go first; a tie left at the end goes
// to the task latest in tasks (callers list them oldest first). The snapshot is not
// changed: stopping the tasks is the control plane's business.
func (s *Snapshot) ScaleIn(tasks []RunningTask, count int, strategies []Strategy, seed uint64) ([]int, error) {
	if err := ValidateStrategies(strategies); err != nil {
		return nil, err
	}
	if len(strategies) == 0 {
		strategies = DefaultServiceStrategies()
	}
	sc := newScaleIn(s, tasks)
	rng := rand.NewPCG(seed, 1)
	var chosen []int
	for range min(max(count, 0), len(tasks)) {
		t := sc.pick(strategies, rng.Uint64())
		sc.stop(t)
		chosen = append(chosen, t)
	}
	return chosen, nil
}

// scaleIn is the state of one ScaleIn call: what is still running where.
type scaleIn struct {
	snap     *Snapshot
	tasks    []RunningTask
	instance []int32 // snapshot index of each task's instance, -1 if missing
	running  []bool
	perInst  map[int32]int
	freed    map[int32]Resources
}

func newScaleIn(s *Snapshot, tasks []RunningTask) *scaleIn {
	sc := &scaleIn{snap: s, tasks: tasks, instance: make([]int32, len(tasks)),
		running: make([]bool, len(tasks)), perInst: map[int32]int{}, freed: map[int32]Resources{}}
	for t, task := range tasks {
		i, ok := s.arnIndex()[task.InstanceARN]
		if !ok {
			i = -1
		}
		sc.instance[t], sc.running[t] = i, true
		sc.perInst[i]++
	}
	return sc
}

func (sc *scaleIn) stop(t int) {
	i := sc.instance[t]
	sc.running[t] = false
	sc.perInst[i]--
	sc.freed[i] = sc.freed[i].Add(sc.tasks[t].Resources)
}

// pick returns the running task to stop next: highest scores first, step by step.
func (sc *scaleIn) pick(strategies []Strategy, draw uint64) int {
	cands := sc.candidates()
	for _, st := range strategies {
		cands = keepHighest(cands, func(t int) int64 { return sc.score(st, t, draw) })
	}
	return slices.Max(cands)
}

// candidates are the running tasks, or only those on missing instances if there are any.
func (sc *scaleIn) candidates() []int {
	var all, missing []int
	for t, running := range sc.running {
		if running {
			all = append(all, t)
			if sc.instance[t] < 0 {
				missing = append(missing, t)
			}
		}
	}
	if len(missing) > 0 {
		return missing
	}
	return all
}

// keepHighest keeps the candidates with the highest score.
func keepHighest(cands []int, score func(int) int64) []int {
	scores := make([]int64, len(cands))
	for k, t := range cands {
		scores[k] = score(t)
	}
	best, n := slices.Max(scores), 0
	for k, t := range cands {
		if scores[k] == best {
			cands[n] = t
			n++
		}
	}
	return cands[:n]
}

// score is how strongly st wants task t stopped; higher goes first.
func (sc *scaleIn) score(st Strategy, t int, draw uint64) int64 {
	i := sc.instance[t]
	if i < 0 {
		return 0
	}
	rem := sc.snap.instances[i].Remaining.Add(sc.freed[i])
	switch rankKindOf(st) {
	case rankBinpackCPU:
		return rem.CPU
	case rankBinpackMemory:
		return rem.Memory
	case rankBinpackResources:
		c, m := float64(rem.CPU)/float64(sc.snap.maxRegistered.CPU), float64(rem.Memory)/float64(sc.snap.maxRegistered.Memory)
		return int64(math.Round((c*c + m*m) * fitScale))
	case rankSpreadInstance:
		return int64(sc.perInst[i])
	case rankSpreadAttribute:
		return int64(sc.tasksWithValue(strings.TrimPrefix(st.Field, AttributePrefix), i))
	}
	return int64(mix64(draw^uint64(t)) >> 1)
}

// tasksWithValue counts running tasks on instances whose attribute has instance i's value
// (instances without it share the missing value).
func (sc *scaleIn) tasksWithValue(name string, i int32) int {
	want, has := sc.snap.instances[i].Attributes[name]
	n := 0
	for j, c := range sc.perInst {
		if j < 0 {
			continue
		}
		v, ok := sc.snap.instances[j].Attributes[name]
		if ok == has && v == want {
			n += c
		}
	}
	return n
}
