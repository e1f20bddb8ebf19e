package lambdaapi

import (
	"net/http"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/store"
)

// statuses are the HTTP statuses Lambda sends its exceptions with.
var statuses = map[string]int{
	lambda.ResourceNotFound:          http.StatusNotFound,
	lambda.ResourceConflict:          http.StatusConflict,
	lambda.InvalidParameterValue:     http.StatusBadRequest,
	lambda.Validation:                http.StatusBadRequest,
	lambda.TooManyRequests:           http.StatusTooManyRequests,
	lambda.RequestTooLarge:           http.StatusRequestEntityTooLarge,
	"RequestEntityTooLargeException": http.StatusRequestEntityTooLarge,
	lambda.InvalidRequestContent:     http.StatusBadRequest,
	lambda.PreconditionFailed:        http.StatusPreconditionFailed,
	lambda.ServiceError:              http.StatusInternalServerError,
	lambda.AccessDeniedException:     http.StatusForbidden,
	lambda.ResourceNotReady:          http.StatusBadGateway,
	lambda.CodeStorageExceeded:       http.StatusBadRequest,
}

// Exception is Lambda's exception for an error on its REST-JSON wire, and
// its status: the one package lambda chose, else the class's.
func Exception(e *apierr.Error) (string, int) {
	name := e.Exception
	if name == "" {
		switch {
		case e.Reason == store.ReasonStale:
			name = lambda.ResourceConflict
		case e.Class == apierr.InvalidArgument:
			name = lambda.InvalidParameterValue
		case e.Class == apierr.NotFound:
			name = lambda.ResourceNotFound
		case e.Class == apierr.FailedPrecondition, e.Class == apierr.AlreadyExists:
			name = lambda.ResourceConflict
		case e.Class == apierr.ResourceExhausted:
			name = lambda.TooManyRequests
		case e.Class == apierr.PermissionDenied, e.Class == apierr.Unauthenticated:
			name = lambda.AccessDeniedException
		default:
			name = lambda.ServiceError
		}
	}
	return name, statuses[name]
}

// ErrorMembers are the members Lambda writes in an error beside Type: its
// ResourceNotFoundException and ServiceException spell Message so, and a
// TooManyRequestsException has its Reason.
func ErrorMembers(name string, e *apierr.Error) map[string]string {
	switch name {
	case lambda.ResourceNotFound, lambda.ServiceError:
		return map[string]string{"Message": e.Message}
	case lambda.TooManyRequests:
		switch e.Reason {
		case invoke.ReasonReservedConcurrency, invoke.ReasonAccountConcurrency, "CallerRateLimitExceeded", "FunctionInvocationRateLimitExceeded":
			return map[string]string{"Reason": e.Reason}
		}
	}
	return nil
}
