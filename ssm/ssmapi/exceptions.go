package ssmapi

import (
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/ssm"
	"github.com/berth/berth/store"
)

// Exception is SSM's exception name for an error on its JSON wire: the one
// package ssm chose, else the store's reason's, else the class's.
func Exception(e *apierr.Error) (string, int) {
	if e.Exception != "" {
		return e.Exception, 0
	}
	if e.Reason == store.ReasonStale {
		return ssm.TooManyUpdates, 0
	}
	switch e.Class {
	case apierr.InvalidArgument:
		return ssm.ValidationException, 0
	case apierr.NotFound:
		return ssm.ParameterNotFound, 0
	case apierr.AlreadyExists:
		return ssm.ParameterAlreadyExists, 0
	case apierr.FailedPrecondition, apierr.ResourceExhausted:
		return ssm.TooManyUpdates, 0
	}
	return ssm.InternalServerError, 0
}
