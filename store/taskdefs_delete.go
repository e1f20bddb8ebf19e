package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// StatusDeleteInProgress is a task definition revision deleted with
// DeleteTaskDefinitions. berth keeps such a revision (it can be described,
// and tasks and services already using it go on), and it can start nothing
// new.
const StatusDeleteInProgress = "DELETE_IN_PROGRESS"

// ECS's failure reasons for DeleteTaskDefinitions.
const (
	ReasonTaskDefinitionActive  = "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
	ReasonTaskDefinitionMissing = "The specified task definition does not exist."
)

// deleteTaskDefinitions moves INACTIVE revisions to DELETE_IN_PROGRESS; a
// revision that is already DELETE_IN_PROGRESS is returned as it is. A
// missing or ACTIVE revision is a failure; the others are deleted all the
// same.
func deleteTaskDefinitions(c *change, cmd *berthv1.DeleteTaskDefinitionsCommand) (proto.Message, error) {
	out := &berthv1.DeleteTaskDefinitionsResult{}
	for _, r := range cmd.GetRevisions() {
		key := taskDefKey(r.GetFamily(), r.GetRevision())
		rec := &berthv1.TaskDefinitionRecord{}
		found, err := get(c.tx, bucketTaskDefs, key, rec)
		if err != nil {
			return nil, err
		}
		fail := func(reason string) {
			out.Failures = append(out.Failures, &berthv1.DeleteTaskDefinitionFailure{
				Family: r.GetFamily(), Revision: r.GetRevision(), Reason: reason})
		}
		switch {
		case !found:
			fail(ReasonTaskDefinitionMissing)
			continue
		case rec.TaskDefinition.GetStatus() == StatusActive:
			fail(ReasonTaskDefinitionActive)
			continue
		case rec.TaskDefinition.GetStatus() == StatusInactive:
			rec.TaskDefinition.Status = StatusDeleteInProgress
			if err := c.put(KindTaskDefinition, bucketTaskDefs, key, rec); err != nil {
				return nil, err
			}
		}
		out.Deleted = append(out.Deleted, rec)
	}
	return out, nil
}
