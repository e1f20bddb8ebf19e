package taskdef

import (
	"fmt"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// checkDependsOn checks container i's dependencies: each names another
// container with a known condition that the target can reach. Cycles are
// checked once all containers passed, by checkDependencyCycles.
func (t *task) checkDependsOn(i int, c *berthv1.ContainerDefinition) error {
	for k, dep := range c.DependsOn {
		p := cpath(i, fmt.Sprintf("dependsOn[%d]", k))
		if err := t.checkContainerRef(p+".containerName", dep.ContainerName, c.Name); err != nil {
			if _, known := t.containers[dep.ContainerName]; !known && dep.ContainerName != "" {
				return ecserr.From(err).Says(ecserr.TextDependsOnMissing(dep.ContainerName))
			}
			return err
		}
		target := t.td.ContainerDefinitions[t.containers[dep.ContainerName]]
		switch dep.Condition {
		case "START":
		case "COMPLETE", "SUCCESS":
			if target.GetEssential() {
				return ecserr.Field(p+".condition", "%s cannot target essential container %q",
					dep.Condition, target.Name)
			}
		case "HEALTHY":
			if target.HealthCheck == nil {
				return ecserr.Field(p+".condition", "HEALTHY needs container %q to have a healthCheck",
					target.Name)
			}
		default:
			return ecserr.Field(p+".condition", "must be START, COMPLETE, SUCCESS or HEALTHY, got %q",
				clip(dep.Condition))
		}
	}
	return nil
}

// ordering is what makes container i wait for others: its dependsOn, its links
// (the linked container must run first) and its volumesFrom (the source must
// be created first), each with the field it is in.
type ordering struct {
	to    int
	field string
}

func (t *task) orderings(i int) []ordering {
	c := t.td.ContainerDefinitions[i]
	var out []ordering
	for _, dep := range c.DependsOn {
		out = append(out, ordering{t.containers[dep.ContainerName], "dependsOn"})
	}
	for _, l := range c.Links {
		name, _, _ := strings.Cut(l, ":")
		out = append(out, ordering{t.containers[name], "links"})
	}
	for _, vf := range c.VolumesFrom {
		out = append(out, ordering{t.containers[vf.SourceContainer], "volumesFrom"})
	}
	return out
}

// checkDependencyCycles rejects a cycle of dependsOn, links and volumesFrom,
// which no container of it could ever start, naming it ("web -> envoy ->
// web") at the first container of the cycle found and the field of its first
// step.
func (t *task) checkDependencyCycles() error {
	const (
		unseen = iota
		onPath
		done
	)
	cs := t.td.ContainerDefinitions
	state := make([]int, len(cs))
	var path []int
	var visit func(i int) error
	visit = func(i int) error {
		state[i] = onPath
		path = append(path, i)
		for _, o := range t.orderings(i) {
			j := o.to
			switch state[j] {
			case onPath:
				return t.cycleError(path, j)
			case unseen:
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range cs {
		if state[i] == unseen {
			if err := visit(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// cycleError reports the cycle that starts at container start on path.
func (t *task) cycleError(path []int, start int) error {
	cs := t.td.ContainerDefinitions
	var cycle []int
	for k := len(path) - 1; k >= 0; k-- {
		if path[k] == start {
			cycle = append(path[k:len(path):len(path)], start)
			break
		}
	}
	var names []string
	for _, i := range cycle {
		names = append(names, cs[i].Name)
	}
	field := "dependsOn"
	for _, o := range t.orderings(start) {
		if len(cycle) > 1 && o.to == cycle[1] {
			field = o.field
			break
		}
	}
	return ecserr.Field(cpath(start, field), "dependency cycle %s", strings.Join(names, " -> "))
}
