package schedulerapi

import (
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// Exception is Scheduler's exception name and HTTP status for an error.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		return e.Exception, 0
	}
	if e.Reason == store.ReasonStale {
		return "ConflictException", 409
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return "ValidationException", 400
	case apierr.NotFound:
		return "ResourceNotFoundException", 404
	case apierr.AlreadyExists, apierr.FailedPrecondition:
		return "ConflictException", 409
	case apierr.ResourceExhausted:
		return "ServiceQuotaExceededException", 402
	}
	return "InternalServerException", 500
}
