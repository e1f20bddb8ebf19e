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

// checkDependencyCycles rejects a dependsOn cycle, naming it
// ("web -> envoy -> web") at the first container of the cycle found.
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
		for _, dep := range cs[i].DependsOn {
			j := t.containers[dep.ContainerName]
			switch state[j] {
			case onPath:
				return cycleError(cs, path, j)
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
func cycleError(cs []*berthv1.ContainerDefinition, path []int, start int) error {
	var names []string
	for k := len(path) - 1; k >= 0; k-- {
		if path[k] == start {
			for _, i := range path[k:] {
				names = append(names, cs[i].Name)
			}
			break
		}
	}
	names = append(names, cs[start].Name)
	return ecserr.Field(cpath(start, "dependsOn"), "dependency cycle %s", strings.Join(names, " -> "))
}
