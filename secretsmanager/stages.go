package secretsmanager

import (
	"slices"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// The stages Secrets Manager moves by itself.
const (
	Current  = "AWSCURRENT"
	Previous = "AWSPREVIOUS"
	Pending  = "AWSPENDING"
)

// Version is a secret's version of that id (nil: none).
func Version(s *berthv1.SecretRecord, id string) *berthv1.SecretVersionRecord {
	for _, v := range s.GetVersions() {
		if v.GetVersionId() == id {
			return v
		}
	}
	return nil
}

// Staged is the version that carries stage (nil: none).
func Staged(s *berthv1.SecretRecord, stage string) *berthv1.SecretVersionRecord {
	for _, v := range s.GetVersions() {
		if slices.Contains(v.GetStages(), stage) {
			return v
		}
	}
	return nil
}

// CheckStages applies the rules on a VersionStages list.
func CheckStages(stages []string) error {
	if len(stages) > MaxStages {
		return Param("VersionStages", "at most %d stages (%d given)", MaxStages, len(stages))
	}
	for i, st := range stages {
		if st == "" || len(st) > maxStageLength {
			return Param("VersionStages", "stage %d must be 1 to %d characters", i, maxStageLength)
		}
	}
	return nil
}

// moveStage puts stage on version to (in next), taking it from the version
// that has it; AWSCURRENT leaves AWSPREVIOUS on the version it leaves.
func moveStage(next *berthv1.SecretRecord, stage string, to *berthv1.SecretVersionRecord) {
	from := Staged(next, stage)
	if from == to {
		return
	}
	if from != nil {
		from.Stages = slices.DeleteFunc(from.Stages, func(x string) bool { return x == stage })
		if stage == Current {
			for _, v := range next.Versions {
				v.Stages = slices.DeleteFunc(v.Stages, func(x string) bool { return x == Previous })
			}
			from.Stages = append(from.Stages, Previous)
		}
	}
	to.Stages = append(to.Stages, stage)
}

// AddVersion is s with a new version carrying stages (AWSCURRENT when
// none), each stage moved from the version that had it. The caller has
// checked that the id is new (an existing id with the same value is an
// idempotent retry, with another value a ResourceExistsException).
func AddVersion(s *berthv1.SecretRecord, v *berthv1.SecretVersionRecord, stages []string) (*berthv1.SecretRecord, error) {
	if len(stages) == 0 {
		stages = []string{Current}
	}
	if err := CheckStages(stages); err != nil {
		return nil, err
	}
	next := proto.Clone(s).(*berthv1.SecretRecord)
	nv := proto.Clone(v).(*berthv1.SecretVersionRecord)
	nv.Stages = nil
	next.Versions = append(next.Versions, nv)
	for _, st := range stages {
		if !slices.Contains(nv.Stages, st) {
			moveStage(next, st, nv)
		}
	}
	next.LastChangedDate = v.GetCreatedDate()
	return prune(next), nil
}

// prune drops the oldest versions that carry no stage while the secret
// keeps more than MaxVersions.
func prune(s *berthv1.SecretRecord) *berthv1.SecretRecord {
	for i := 0; len(s.Versions) > MaxVersions && i < len(s.Versions); {
		if len(s.Versions[i].GetStages()) == 0 {
			s.Versions = slices.Delete(s.Versions, i, i+1)
			continue
		}
		i++
	}
	return s
}

// UpdateVersionStage moves stage as UpdateSecretVersionStage does: onto
// moveTo, off removeFrom. A stage already on another version than
// removeFrom is refused: a stage is on one version at a time, and the caller
// must say which one it leaves.
func UpdateVersionStage(s *berthv1.SecretRecord, stage, removeFrom, moveTo string, at float64) (*berthv1.SecretRecord, error) {
	if stage == "" || len(stage) > maxStageLength {
		return nil, Param("VersionStage", "must be 1 to %d characters", maxStageLength)
	}
	if removeFrom == "" && moveTo == "" {
		return nil, Param("MoveToVersionId", "give MoveToVersionId, RemoveFromVersionId or both")
	}
	next := proto.Clone(s).(*berthv1.SecretRecord)
	holder := Staged(next, stage)
	if removeFrom != "" {
		from := Version(next, removeFrom)
		if from == nil {
			return nil, Param("RemoveFromVersionId", "the secret has no version %s", removeFrom)
		}
		if holder != from {
			return nil, Param("RemoveFromVersionId", "The staging label %s is not attached to version %s, so you can't remove it.", stage, removeFrom)
		}
	}
	if moveTo == "" {
		if stage == Current {
			return nil, Param("VersionStage", "You can't remove the staging label AWSCURRENT from a version without moving it to another version (MoveToVersionId).")
		}
		holder.Stages = slices.DeleteFunc(holder.Stages, func(x string) bool { return x == stage })
		next.LastChangedDate = at
		return next, nil
	}
	to := Version(next, moveTo)
	if to == nil {
		return nil, Param("MoveToVersionId", "the secret has no version %s", moveTo)
	}
	if holder != nil && holder != to && holder.GetVersionId() != removeFrom {
		return nil, Param("RemoveFromVersionId",
			"The staging label %s is currently attached to version %s. You must specify that version ID in RemoveFromVersionId to move the label to version %s.",
			stage, holder.GetVersionId(), moveTo)
	}
	if holder != to && len(to.GetStages()) >= MaxStages {
		return nil, fail(apierr.ResourceExhausted, LimitExceededException, "version %s already has %d staging labels", moveTo, MaxStages)
	}
	moveStage(next, stage, to)
	next.LastChangedDate = at
	return next, nil
}

// VersionStagesMap is a secret's versions that carry stages, to their stages
// (DescribeSecret's VersionIdsToStages).
func VersionStagesMap(s *berthv1.SecretRecord) map[string][]string {
	out := map[string][]string{}
	for _, v := range s.GetVersions() {
		if len(v.GetStages()) > 0 {
			out[v.GetVersionId()] = v.GetStages()
		}
	}
	return out
}
