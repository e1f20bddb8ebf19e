package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// updateTaskProtection sets (or, with expires_at 0, clears) the scale-in
// protection of tasks. The proposer has checked that each is a live
// service task; one that stopped meanwhile is left as it is. It returns the
// tasks as stored.
func updateTaskProtection(c *change, cmd *berthv1.UpdateTaskProtectionCommand) (proto.Message, error) {
	if err := activeCluster(c, cmd.GetCluster()); err != nil {
		return nil, err
	}
	out := &berthv1.TaskRecords{}
	for _, id := range cmd.GetIds() {
		rec, err := loadTask(c, cmd.GetCluster(), id)
		if err != nil {
			return nil, err
		}
		if rec.Task.GetLastStatus() != TaskStopped && rec.ProtectionExpiresAt != cmd.GetExpiresAt() {
			rec.ProtectionExpiresAt = cmd.GetExpiresAt()
			if err := c.putTask(rec); err != nil {
				return nil, err
			}
		}
		out.Tasks = append(out.Tasks, rec)
	}
	return out, nil
}
