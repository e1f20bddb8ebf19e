// Package ecrerr names ECR's exceptions and chooses them, once, for the
// errors berth's ECR returns on the JSON wire. Errors are apierr's: the
// store says what happened with a class and a reason; the ECR handlers may
// choose an exception as they raise an error (New, Param).
package ecrerr

import (
	"net/http"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store"
)

// ECR's exception names.
const (
	ServerException                  = "ServerException"
	InvalidParameterException        = "InvalidParameterException"
	InvalidTagParameterException     = "InvalidTagParameterException"
	TooManyTagsException             = "TooManyTagsException"
	RepositoryNotFoundException      = "RepositoryNotFoundException"
	RepositoryAlreadyExistsException = "RepositoryAlreadyExistsException"
	RepositoryNotEmptyException      = "RepositoryNotEmptyException"
	ImageNotFoundException           = "ImageNotFoundException"
	ImageAlreadyExistsException      = "ImageAlreadyExistsException"
	ImageTagAlreadyExistsException   = "ImageTagAlreadyExistsException"
	ImageDigestDoesNotMatchException = "ImageDigestDoesNotMatchException"
	LayersNotFoundException          = "LayersNotFoundException"
	LifecyclePolicyNotFoundException = "LifecyclePolicyNotFoundException"
	// LifecyclePolicyPreviewNotFoundException: no preview was started.
	LifecyclePolicyPreviewNotFoundException = "LifecyclePolicyPreviewNotFoundException"
	// LifecyclePolicyPreviewInProgressException is ECR's answer to a preview
	// started while one runs; berth evaluates a preview as it is started, so
	// none is ever running and berth never raises it.
	LifecyclePolicyPreviewInProgressException = "LifecyclePolicyPreviewInProgressException"
	ValidationException                       = "ValidationException"
	LimitExceededException                    = "LimitExceededException"
	UnsupportedImageTypeException             = "UnsupportedImageTypeException"
	AccessDeniedException                     = "AccessDeniedException"
	UnrecognizedClientException               = "UnrecognizedClientException"
	ReferencedImagesNotFoundException         = "ReferencedImagesNotFoundException"
)

var byReason = map[string]string{
	store.ReasonECRRepositoryNotFound: RepositoryNotFoundException,
	store.ReasonECRRepositoryExists:   RepositoryAlreadyExistsException,
}

var byClass = map[apierr.Class]string{
	apierr.Internal:           ServerException,
	apierr.InvalidArgument:    InvalidParameterException,
	apierr.NotFound:           RepositoryNotFoundException,
	apierr.FailedPrecondition: InvalidParameterException,
	apierr.AlreadyExists:      RepositoryAlreadyExistsException,
	apierr.Unauthenticated:    UnrecognizedClientException,
	apierr.PermissionDenied:   AccessDeniedException,
	apierr.ResourceExhausted:  LimitExceededException,
	apierr.Unimplemented:      InvalidParameterException,
}

// Exception names ECR's exception for e, and its HTTP status: the one the
// handler chose, else the store's reason's, else the class's. Every ECR
// exception but ServerException is sent with 400, as ECR does.
func Exception(e *apierr.Error) (string, int) {
	name := e.Exception
	if name == "" {
		name = byReason[e.Reason]
	}
	if name == "" {
		name = byClass[e.Class]
	}
	if name == ServerException {
		return name, http.StatusInternalServerError
	}
	return name, http.StatusBadRequest
}

// New returns an error of the class with ECR's exception name.
func New(class apierr.Class, exception, format string, args ...any) *apierr.Error {
	e := apierr.New(class, "", format, args...)
	e.Exception = exception
	return e
}

// Param returns an InvalidParameterException about a request member: "path: rule".
func Param(path, format string, args ...any) *apierr.Error {
	e := apierr.Field(path, format, args...)
	e.Exception = InvalidParameterException
	return e
}

// The classes, as apierr has them, for ECR's code.
const (
	NotFound           = apierr.NotFound
	FailedPrecondition = apierr.FailedPrecondition
	InvalidArgument    = apierr.InvalidArgument
	AlreadyExists      = apierr.AlreadyExists
)

// From returns the *apierr.Error in err's chain; one that has none is Internal.
func From(err error) *apierr.Error { return apierr.From(err) }
