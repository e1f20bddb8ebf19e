package eventsapi

import (
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// Reasons that choose one of EventBridge's exceptions.
const (
	ReasonInvalidEventPattern = "InvalidEventPattern"
	ReasonLimitExceeded       = "LimitExceeded"
	ReasonRuleNotFound        = "RuleNotFound"
)

// Exception is EventBridge's exception name for an error on its JSON wire.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		return e.Exception, 0
	}
	switch e.Reason {
	case ReasonInvalidEventPattern:
		return "InvalidEventPatternException", 400
	case ReasonLimitExceeded:
		return "LimitExceededException", 400
	case store.ReasonStale:
		return "ConcurrentModificationException", 400
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return "ValidationException", 400
	case apierr.NotFound:
		return "ResourceNotFoundException", 400
	case apierr.AlreadyExists:
		return "ResourceAlreadyExistsException", 400
	case apierr.FailedPrecondition:
		return "ConcurrentModificationException", 400
	case apierr.ResourceExhausted:
		return "LimitExceededException", 400
	}
	return "InternalException", 500
}
