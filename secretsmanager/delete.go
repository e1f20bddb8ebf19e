package secretsmanager

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Deleted reports whether s is scheduled for deletion.
func Deleted(s *berthv1.SecretRecord) bool { return s.GetDeletedDate() != 0 }

// Expired reports whether s's recovery window has ended at at: it is gone,
// whether or not its record has been removed yet.
func Expired(s *berthv1.SecretRecord, at float64) bool {
	return Deleted(s) && s.GetDeletionDate() <= at
}

// Delete decides a DeleteSecret: purge now (ForceDeleteWithoutRecovery), or
// s scheduled for deletion after the recovery window (days; nil: 30).
func Delete(s *berthv1.SecretRecord, days *int32, force bool, at float64) (next *berthv1.SecretRecord, purge bool, err error) {
	if days != nil && force {
		return nil, false, Param("RecoveryWindowInDays", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	if days != nil && (*days < MinRecoveryDays || *days > MaxRecoveryDays) {
		return nil, false, Param("RecoveryWindowInDays", "The recovery window can't be less than %d days or greater than %d days.", MinRecoveryDays, MaxRecoveryDays)
	}
	if force {
		return s, true, nil
	}
	if Deleted(s) {
		return nil, false, fail(apierr.FailedPrecondition, InvalidRequestException,
			"You can't delete secret %s because it's already scheduled for deletion (on %s); use ForceDeleteWithoutRecovery to delete it now.", s.GetName(), date(s.GetDeletionDate()))
	}
	window := int32(DefaultRecovery)
	if days != nil {
		window = *days
	}
	next = proto.Clone(s).(*berthv1.SecretRecord)
	next.DeletedDate = at
	next.DeletionDate = at + float64(window)*secondsInADay
	return next, false, nil
}

// Restore is s no longer scheduled for deletion.
func Restore(s *berthv1.SecretRecord, at float64) *berthv1.SecretRecord {
	next := proto.Clone(s).(*berthv1.SecretRecord)
	next.DeletedDate, next.DeletionDate = 0, 0
	if Deleted(s) {
		next.LastChangedDate = at
	}
	return next
}
