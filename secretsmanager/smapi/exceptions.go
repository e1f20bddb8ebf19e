package smapi

import (
	"github.com/berth/berth/apierr"
	sm "github.com/berth/berth/secretsmanager"
)

// Exception is Secrets Manager's exception name for an error on its JSON
// wire: the one package secretsmanager chose, else the class's.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		return e.Exception, 0
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return sm.InvalidParameterException, 0
	case apierr.NotFound:
		return sm.ResourceNotFoundException, 0
	case apierr.AlreadyExists:
		return sm.ResourceExistsException, 0
	case apierr.FailedPrecondition:
		return sm.InvalidRequestException, 0
	case apierr.ResourceExhausted:
		return sm.LimitExceededException, 0
	}
	return sm.InternalServiceError, 0
}
