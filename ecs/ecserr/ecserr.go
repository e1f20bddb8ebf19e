// Package ecserr holds the error classes of berth's ECS API.
//
// Domain code (validation, the store, handlers) returns an *Error, or wraps one
// with fmt.Errorf("...: %w", err). The API boundary maps each class once: to a
// gRPC code for gRPC callers, and to ECS's exception name on the ECS JSON wire.
// This package must not import grpc: the mapping lives at the boundary.
package ecserr

import (
	"errors"
	"fmt"
)

// Class is what kind of failure an error is; each maps to one gRPC code.
type Class int

// The classes, named after the gRPC codes they map to.
const (
	Internal Class = iota
	InvalidArgument
	NotFound
	FailedPrecondition
	AlreadyExists
	Unauthenticated
	PermissionDenied
	ResourceExhausted
	Unimplemented
)

// ECS exception names berth sends on the ECS JSON wire.
const (
	ClientException                = "ClientException"
	ServerException                = "ServerException"
	InvalidParameterException      = "InvalidParameterException"
	ClusterNotFoundException       = "ClusterNotFoundException"
	ClusterContainsServices        = "ClusterContainsServicesException"
	ClusterContainsInstances       = "ClusterContainsContainerInstancesException"
	ClusterContainsTasks           = "ClusterContainsTasksException"
	ServiceNotFoundException       = "ServiceNotFoundException"
	ServiceNotActiveException      = "ServiceNotActiveException"
	UnsupportedFeatureException    = "UnsupportedFeatureException"
	AccessDeniedException          = "AccessDeniedException"
	LimitExceededException         = "LimitExceededException"
	ResourceNotFoundException      = "ResourceNotFoundException"
	UnrecognizedClientException    = "UnrecognizedClientException"
	ResourceInUseException         = "ResourceInUseException"
	TargetNotFoundException        = "TargetNotFoundException"
	AttributeLimitExceeded         = "AttributeLimitExceededException"
	PlatformUnknownException       = "PlatformUnknownException"
	PlatformTaskDefinitionIncompat = "PlatformTaskDefinitionIncompatibilityException"
)

// Error is an API error: its class, ECS's exception name and a message for
// the user.
type Error struct {
	Class     Class
	Exception string
	Message   string
}

func (e *Error) Error() string { return e.Message }

// New returns an error of the class with ECS's exception name.
func New(class Class, exception, format string, args ...any) *Error {
	return &Error{Class: class, Exception: exception, Message: fmt.Sprintf(format, args...)}
}

// Field returns the InvalidArgument error for a field that breaks a rule; the
// message is "path: rule", e.g.
// "containerDefinitions[1].portMappings[0].hostPort: must equal containerPort 8080 in awsvpc mode".
func Field(path, format string, args ...any) *Error {
	return &Error{Class: InvalidArgument, Exception: ClientException,
		Message: path + ": " + fmt.Sprintf(format, args...)}
}

// Param returns an InvalidParameterException about a request parameter.
func Param(path, format string, args ...any) *Error {
	e := Field(path, format, args...)
	e.Exception = InvalidParameterException
	return e
}

// From returns the *Error in err's chain; an error that has none is Internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: Internal, Exception: ServerException, Message: err.Error()}
}

// Is reports whether err carries an *Error of the class.
func Is(err error, class Class) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == class
}
