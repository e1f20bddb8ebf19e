// Package ecserr names ECS's exceptions and chooses them, once, for the
// errors berth's ECS returns.
//
// Errors themselves are apierr's: domain code below ECS (the store,
// placement, the dispatcher) says what happened with a class and a reason;
// the ECS handlers may choose an exception as they raise an error (New,
// Param). Exception picks the name ECS's JSON wire sends for any error: the
// one chosen, else the store's reason's, else the class's.
// This package must not import grpc: the gRPC mapping lives in controlplane.
package ecserr

import (
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// Class and Error are apierr's, named here so that ECS code reads as before.
type (
	Class = apierr.Class
	Error = apierr.Error
)

// The classes.
const (
	Internal           = apierr.Internal
	InvalidArgument    = apierr.InvalidArgument
	NotFound           = apierr.NotFound
	FailedPrecondition = apierr.FailedPrecondition
	AlreadyExists      = apierr.AlreadyExists
	Unauthenticated    = apierr.Unauthenticated
	PermissionDenied   = apierr.PermissionDenied
	ResourceExhausted  = apierr.ResourceExhausted
	Unimplemented      = apierr.Unimplemented
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
	TargetNotConnectedException    = "TargetNotConnectedException"
	AttributeLimitExceeded         = "AttributeLimitExceededException"
	PlatformUnknownException       = "PlatformUnknownException"
	PlatformTaskDefinitionIncompat = "PlatformTaskDefinitionIncompatibilityException"
	TaskSetNotFoundException       = "TaskSetNotFoundException"
)

// New returns an error of the class with ECS's exception name.
func New(class Class, exception, format string, args ...any) *Error {
	e := apierr.New(class, "", format, args...)
	e.Exception = exception
	return e
}

// Field returns the InvalidArgument error (a ClientException) for a field
// that breaks a rule; the message is "path: rule".
func Field(path, format string, args ...any) *Error {
	return apierr.Field(path, format, args...)
}

// Param returns an InvalidParameterException about a request parameter.
func Param(path, format string, args ...any) *Error {
	e := apierr.Field(path, format, args...)
	e.Exception = InvalidParameterException
	return e
}

// From returns the *Error in err's chain; an error that has none is Internal.
func From(err error) *Error { return apierr.From(err) }

// Is reports whether err carries an *Error of the class.
func Is(err error, class Class) bool { return apierr.Is(err, class) }

// byReason is the exception of each reason the store gives.
var byReason = map[string]string{
	store.ReasonClusterNotFound:          ClusterNotFoundException,
	store.ReasonServiceNotFound:          ServiceNotFoundException,
	store.ReasonTaskNotFound:             InvalidParameterException,
	store.ReasonClusterHasServices:       ClusterContainsServices,
	store.ReasonClusterHasInstances:      ClusterContainsInstances,
	store.ReasonClusterHasTasks:          ClusterContainsTasks,
	store.ReasonCapacityProviderInUse:    ResourceInUseException,
	store.ReasonCapacityProviderNotFound: ClientException,
	store.ReasonBadParameter:             InvalidParameterException,
	store.ReasonResourceNotFound:         ResourceNotFoundException,
}

// byClass is the exception of an error that says no more than its class.
var byClass = map[Class]string{
	Internal:           ServerException,
	InvalidArgument:    ClientException,
	NotFound:           ClientException,
	FailedPrecondition: ClientException,
	AlreadyExists:      ClientException,
	Unauthenticated:    UnrecognizedClientException,
	PermissionDenied:   AccessDeniedException,
	ResourceExhausted:  LimitExceededException,
	Unimplemented:      UnsupportedFeatureException,
}

// Exception is the name ECS's wire sends for e.
func Exception(e *Error) string {
	if e.Exception != "" {
		return e.Exception
	}
	if x, ok := byReason[e.Reason]; ok {
		return x
	}
	return byClass[e.Class]
}
