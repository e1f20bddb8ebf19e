package elbv2

import (
	"fmt"

	"github.com/berth/berth/apierr"
)

// ELB's error codes on its query wire.
const (
	LoadBalancerNotFound      = "LoadBalancerNotFound"
	TargetGroupNotFound       = "TargetGroupNotFound"
	ListenerNotFound          = "ListenerNotFound"
	RuleNotFound              = "RuleNotFound"
	DuplicateLoadBalancerName = "DuplicateLoadBalancerName"
	DuplicateTargetGroupName  = "DuplicateTargetGroupName"
	DuplicateListener         = "DuplicateListener"
	DuplicateTagKeys          = "DuplicateTagKeys"
	PriorityInUse             = "PriorityInUse"
	ValidationError           = "ValidationError"
	ResourceInUse             = "ResourceInUse"
	InvalidTarget             = "InvalidTarget"
	InvalidConfiguration      = "InvalidConfigurationRequest"
	InvalidAction             = "InvalidLoadBalancerAction"
	OperationNotPermitted     = "OperationNotPermitted"
	UnsupportedProtocol       = "UnsupportedProtocol"
	TooManyTags               = "TooManyTags"
	InternalFailure           = "InternalFailure"
)

// fail is an error with ELB's exception name.
func fail(class apierr.Class, exception, format string, args ...any) *apierr.Error {
	e := apierr.New(class, exception, format, args...)
	e.Exception = exception
	return e
}

// Invalid is a ValidationError about a member.
func Invalid(field, format string, args ...any) *apierr.Error {
	e := apierr.Field(field, format, args...)
	e.Exception = ValidationError
	e.Reason = ValidationError
	return e
}

// NotFound is the exception for a missing resource (LoadBalancerNotFound,
// TargetGroupNotFound, ListenerNotFound, RuleNotFound) with ELB's words.
func NotFound(exception, what string) *apierr.Error {
	texts := map[string]string{
		LoadBalancerNotFound: "One or more load balancers not found",
		TargetGroupNotFound:  "One or more target groups not found",
		ListenerNotFound:     "One or more listeners not found",
		RuleNotFound:         "One or more rules not found",
	}
	return fail(apierr.NotFound, exception, "%s: %s", texts[exception], what).Says(texts[exception])
}

// Duplicate is the exception for a name or port in use.
func Duplicate(exception, format string, args ...any) *apierr.Error {
	return fail(apierr.AlreadyExists, exception, format, args...)
}

// InUse is ResourceInUse.
func InUse(format string, args ...any) *apierr.Error {
	return fail(apierr.FailedPrecondition, ResourceInUse, format, args...)
}

// Conflict is an exception about the resources' state (PriorityInUse,
// InvalidConfigurationRequest, InvalidTarget, OperationNotPermitted).
func Conflict(exception, format string, args ...any) *apierr.Error {
	return fail(apierr.FailedPrecondition, exception, format, args...)
}

// Internal is an error of berth's own in ELB's words.
func Internal(err error) *apierr.Error {
	return fail(apierr.Internal, InternalFailure, "%v", fmt.Sprint(err))
}
