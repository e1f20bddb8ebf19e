package lambda

import (
	"fmt"
	"strings"

	"github.com/berth/berth/apierr"
)

// Lambda's exception names.
const (
	ResourceNotFound        = "ResourceNotFoundException"
	ResourceConflict        = "ResourceConflictException"
	InvalidParameterValue   = "InvalidParameterValueException"
	Validation              = "ValidationException"
	TooManyRequests         = "TooManyRequestsException"
	RequestTooLarge         = "RequestTooLargeException"
	InvalidRequestContent   = "InvalidRequestContentException"
	PreconditionFailed      = "PreconditionFailedException"
	ServiceError            = "ServiceException"
	CodeStorageExceeded     = "CodeStorageExceededException"
	InvalidZipFile          = "InvalidZipFileException"
	ResourceNotReady        = "ResourceNotReadyException"
	PolicyLengthExceeded    = "PolicyLengthExceededException"
	UnsupportedMediaType    = "UnsupportedMediaTypeException"
	AccessDeniedException   = "AccessDeniedException"
	TooManyRequestsRateText = "Rate Exceeded."
)

// with is an apierr.Error of class whose exception is name.
func with(class apierr.Class, name, format string, args ...any) *apierr.Error {
	e := apierr.New(class, name, format, args...)
	e.Exception = name
	return e
}

// NotFound is Lambda's ResourceNotFoundException with its text.
func NotFound(format string, args ...any) *apierr.Error {
	return with(apierr.NotFound, ResourceNotFound, format, args...)
}

// FunctionNotFound is Lambda's text for a function (or version) that does
// not exist: "Function not found: ARN".
func FunctionNotFound(arn string) *apierr.Error { return NotFound("Function not found: %s", arn) }

// Conflict is ResourceConflictException.
func Conflict(format string, args ...any) *apierr.Error {
	return with(apierr.FailedPrecondition, ResourceConflict, format, args...)
}

// InvalidParameter is InvalidParameterValueException about a member.
func InvalidParameter(field, format string, args ...any) *apierr.Error {
	e := with(apierr.InvalidArgument, InvalidParameterValue, format, args...)
	e.Field = field
	return e
}

// Precondition is PreconditionFailedException: a RevisionId that is not
// the latest.
func Precondition(what string) *apierr.Error {
	return with(apierr.FailedPrecondition, PreconditionFailed,
		"The Revision Id provided does not match the latest Revision Id. Call the %s API to retrieve the latest Revision Id", what)
}

// TooLarge is RequestTooLargeException for a payload over limit bytes.
func TooLarge(limit int) *apierr.Error {
	return with(apierr.InvalidArgument, RequestTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
}

// Throttled is TooManyRequestsException with Lambda's Reason.
func Throttled(reason string) *apierr.Error {
	e := with(apierr.ResourceExhausted, TooManyRequests, TooManyRequestsRateText)
	e.Reason = reason
	return e
}

// member is Lambda's name of a member in a validation message: the first
// letter lowered ("memorySize").
func member(field string) string {
	if field == "" {
		return field
	}
	if head, rest, ok := strings.Cut(field, "."); ok {
		return member(head) + "." + member(rest)
	}
	return strings.ToLower(field[:1]) + field[1:]
}

// Invalid is the ValidationException Lambda sends for a member that breaks
// its model's constraint:
// "1 validation error detected: Value '100' at 'memorySize' failed to
// satisfy constraint: Member must have value greater than or equal to 128".
func Invalid(field string, value any, constraint string) *apierr.Error {
	e := with(apierr.InvalidArgument, Validation,
		"1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member(field), constraint)
	e.Field = field
	return e
}

// checkRange is Invalid unless min <= v <= max.
func checkRange(field string, v, min, max int64) error {
	if v < min {
		return Invalid(field, v, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	}
	if v > max {
		return Invalid(field, v, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return nil
}

// checkLength is Invalid unless min <= len(s) <= max.
func checkLength(field, s string, min, max int) error {
	if len(s) < min {
		return Invalid(field, s, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	}
	if len(s) > max {
		return Invalid(field, s, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	return nil
}
