// Package apierr is the error vocabulary every berth service shares.
//
// Domain code (validation, the store, handlers) returns an *Error, or wraps
// one with fmt.Errorf("...: %w", err). An Error says what kind of failure it
// is (its Class), which request field it is about (Field), and why in the
// domain's own words (Reason, e.g. ReasonClusterNotFound); it never names a
// wire's exception unless a service's handler chose one (Exception). The API
// boundary maps each error once: the class to a gRPC code for gRPC callers
// (controlplane), and class and reason to the service's own exception name on
// its AWS wire (each service's error table, e.g. ecs/ecserr).
//
// Where the AWS service has a known text for an error, Message is that text
// word for word (Says), and berth's own words, which name the field and the
// rule, stay in Detail; the boundary sends both: the text as the message, the
// field and berth's words beside it (an extra member of a JSON error body,
// the details of a gRPC status), where clients that do not know them ignore
// them.
//
// This package must not import grpc or any service: it is below them all.
package apierr

import (
	"errors"
	"fmt"
	"strings"
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

var classNames = [...]string{"Internal", "InvalidArgument", "NotFound", "FailedPrecondition",
	"AlreadyExists", "Unauthenticated", "PermissionDenied", "ResourceExhausted", "Unimplemented"}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is an API error.
type Error struct {
	Class Class
	// Reason says why, in the domain's words, for the boundary to choose the
	// service's exception name (and the dashboard its field); "" says no
	// more than the class.
	Reason string
	// Field is the path of the request member the error is about
	// ("containerDefinitions[0].image"), or "".
	Field string
	// Exception is the wire's exception name, when a service's own handler
	// chose it; "" lets the service's error table choose.
	Exception string
	// Message is what the user reads: the service's own text word for word
	// where it has one (Says), else berth's own words; for a field error
	// these start with the field's path ("path: rule").
	Message string
	// Detail is berth's own words when Message is the service's text, ""
	// when Message says them.
	Detail string
}

func (e *Error) Error() string { return e.Message }

// Says returns a copy of e whose Message is text, the service's own words
// for the error, word for word; berth's words move to Detail.
func (e *Error) Says(text string) *Error {
	c := *e
	if c.Detail == "" && c.Message != text {
		c.Detail = c.Message
	}
	c.Message = text
	return &c
}

// Own is berth's own words for the error: Detail, else Message.
func (e *Error) Own() string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Message
}

// Rule is the rule the error's Field breaks, in berth's words without the
// field's path ("must not be empty"); "" for an error about no field.
func (e *Error) Rule() string {
	if e.Field == "" {
		return ""
	}
	own := e.Own()
	if rule, ok := strings.CutPrefix(own, e.Field+": "); ok {
		return rule
	}
	return own
}

// New returns an error of the class with a reason.
func New(class Class, reason, format string, args ...any) *Error {
	return &Error{Class: class, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Field returns the InvalidArgument error for a request member that breaks a
// rule; the message is "path: rule", e.g.
// "containerDefinitions[1].portMappings[0].hostPort: must equal containerPort 8080 in awsvpc mode".
func Field(path, format string, args ...any) *Error {
	return &Error{Class: InvalidArgument, Field: path, Message: path + ": " + fmt.Sprintf(format, args...)}
}

// From returns the *Error in err's chain; an error that has none is Internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: Internal, Message: err.Error()}
}

// Is reports whether err carries an *Error of the class.
func Is(err error, class Class) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == class
}

// HasReason reports whether err carries an *Error with the reason.
func HasReason(err error, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == reason
}
