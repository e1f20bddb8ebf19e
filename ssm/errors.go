package ssm

import "github.com/berth/berth/apierr"

// SSM's exception names, as its JSON wire sends them.
const (
	ValidationException                  = "ValidationException"
	ParameterNotFound                    = "ParameterNotFound"
	ParameterAlreadyExists               = "ParameterAlreadyExists"
	ParameterVersionNotFound             = "ParameterVersionNotFound"
	ParameterMaxVersionLimitExceeded     = "ParameterMaxVersionLimitExceeded"
	ParameterVersionLabelLimitExceeded   = "ParameterVersionLabelLimitExceeded"
	ParameterPatternMismatchException    = "ParameterPatternMismatchException"
	InvalidAllowedPatternException       = "InvalidAllowedPatternException"
	HierarchyLevelLimitExceededException = "HierarchyLevelLimitExceededException"
	HierarchyTypeMismatchException       = "HierarchyTypeMismatchException"
	UnsupportedParameterType             = "UnsupportedParameterType"
	InvalidFilterKey                     = "InvalidFilterKey"
	InvalidFilterOption                  = "InvalidFilterOption"
	InvalidFilterValue                   = "InvalidFilterValue"
	InvalidNextToken                     = "InvalidNextToken"
	InvalidKeyID                         = "InvalidKeyId"
	TooManyUpdates                       = "TooManyUpdates"
	InternalServerError                  = "InternalServerError"
)

// fail is an error of SSM's exception, with the class that maps it to a
// gRPC code.
func fail(class apierr.Class, exception, format string, args ...any) *apierr.Error {
	e := apierr.New(class, "", format, args...)
	e.Exception = exception
	return e
}

// invalid is a ValidationException about a request member.
func invalid(field, format string, args ...any) *apierr.Error {
	e := apierr.Field(field, format, args...)
	e.Exception = ValidationException
	return e
}

// NotFound is ParameterNotFound for a parameter name.
func NotFound(name string) *apierr.Error {
	return fail(apierr.NotFound, ParameterNotFound, "Parameter %s not found.", name)
}
