package ecsapi

import (
	"context"
	"fmt"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// DeleteTaskDefinitions moves up to 10 INACTIVE revisions to
// DELETE_IN_PROGRESS. A revision that does not exist or is still ACTIVE is a
// failure with ECS's reason; the others are deleted all the same.
func (s *Server) DeleteTaskDefinitions(ctx context.Context, req *berthv1.DeleteTaskDefinitionsRequest) (*berthv1.DeleteTaskDefinitionsResponse, error) {
	names := req.GetTaskDefinitions()
	switch {
	case len(names) == 0:
		return nil, ecserr.Param("taskDefinitions", "is required: give 1 to 10 task definition revisions")
	case len(names) > 10:
		return nil, ecserr.Param("taskDefinitions", "at most 10 task definitions, not %d", len(names))
	}
	cmd := &berthv1.DeleteTaskDefinitionsCommand{}
	for i, v := range names {
		field := fmt.Sprintf("taskDefinitions[%d]", i)
		family, rev, err := parseTaskDefinition(v)
		if err != nil {
			e := ecserr.From(err)
			return nil, ecserr.Param(field, "%s", strings.TrimPrefix(e.Message, e.Field+": "))
		}
		if rev == 0 {
			return nil, ecserr.Param(field, "name a revision (family:revision or the full ARN), not only the family %q", family)
		}
		cmd.Revisions = append(cmd.Revisions, &berthv1.TaskDefinitionRevision{Family: family, Revision: rev})
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteTaskDefinitions{DeleteTaskDefinitions: cmd}})
	if err != nil {
		return nil, err
	}
	result := res.(*berthv1.DeleteTaskDefinitionsResult)
	out := &berthv1.DeleteTaskDefinitionsResponse{}
	for _, rec := range result.GetDeleted() {
		out.TaskDefinitions = append(out.TaskDefinitions, s.renderTaskDefinition(rec))
	}
	for _, f := range result.GetFailures() {
		out.Failures = append(out.Failures, &berthv1.Failure{Arn: s.arns.TaskDefinition(f.GetFamily(), f.GetRevision()), Reason: f.GetReason()})
	}
	return out, nil
}
