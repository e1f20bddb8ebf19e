package taskdef

import (
	"fmt"

	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/scheduler"
)

// maxPlacementConstraints is ECS's limit of placement constraints.
const maxPlacementConstraints = 10

// checkPlacementConstraints checks the task definition's placement
// constraints: memberOf only (distinctInstance belongs to RunTask and
// CreateService), with an expression in the cluster query language, and none
// on Fargate, which has no instances to choose.
func (t *task) checkPlacementConstraints() error {
	pcs := t.td.PlacementConstraints
	switch {
	case len(pcs) == 0:
		return nil
	case t.fargate:
		return ecserr.Field("placementConstraints", "not supported with FARGATE")
	case len(pcs) > maxPlacementConstraints:
		return ecserr.Field("placementConstraints", "at most %d, got %d", maxPlacementConstraints, len(pcs))
	}
	for j, pc := range pcs {
		p := fmt.Sprintf("placementConstraints[%d]", j)
		if pc.Type != "memberOf" {
			return ecserr.Field(p+".type", "must be memberOf, got %q", clip(pc.Type))
		}
		if pc.Expression == "" {
			return ecserr.Field(p+".expression", "required")
		}
		if _, err := scheduler.ParseExpression(pc.Expression); err != nil {
			return ecserr.Field(p+".expression", "%v", err)
		}
	}
	return nil
}
