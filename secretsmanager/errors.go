package secretsmanager

import "github.com/berth/berth/apierr"

// Secrets Manager's exception names, as its JSON wire sends them.
const (
	ResourceNotFoundException  = "ResourceNotFoundException"
	ResourceExistsException    = "ResourceExistsException"
	InvalidRequestException    = "InvalidRequestException"
	InvalidParameterException  = "InvalidParameterException"
	LimitExceededException     = "LimitExceededException"
	InvalidNextTokenException  = "InvalidNextTokenException"
	InternalServiceError       = "InternalServiceError"
	DecryptionFailure          = "DecryptionFailure"
	PreconditionNotMetExcepton = "PreconditionNotMetException"
)

func fail(class apierr.Class, exception, format string, args ...any) *apierr.Error {
	e := apierr.New(class, "", format, args...)
	e.Exception = exception
	return e
}

// Param is an InvalidParameterException about a request member.
func Param(field, format string, args ...any) *apierr.Error {
	e := apierr.Field(field, format, args...)
	e.Exception = InvalidParameterException
	return e
}

// NotFound is ResourceNotFoundException for a secret.
func NotFound() *apierr.Error {
	return fail(apierr.NotFound, ResourceNotFoundException, "Secrets Manager can't find the specified secret.")
}

// MarkedForDeletion is the InvalidRequestException of an operation on a
// secret scheduled for deletion.
func MarkedForDeletion(op string) *apierr.Error {
	return fail(apierr.FailedPrecondition, InvalidRequestException,
		"You can't perform this operation on the secret because it was marked for deletion. (%s)", op)
}
