// Package invoke is the contract between Lambda's API (package
// lambda/lambdaapi: functions, versions, the Invoke operation, the
// asynchronous queue) and the machinery that runs functions (execution
// environments driven through the Runtime API), and between Lambda and the
// services that invoke functions for an event (S3 notifications,
// EventBridge targets, schedules). It holds types only: no goroutines.
package invoke

import (
	"context"
	"time"
)

// Function is one version of a function as it is run: everything an
// execution environment needs. Environments are reused only for the same
// ARN and CodeSha256 and configuration.
type Function struct {
	// ARN is the version's qualified ARN
	// (arn:aws:lambda:us-east-1:000000000000:function:NAME:VERSION, $LATEST
	// included).
	ARN     string
	Name    string
	Version string
	// PackageType is "Image" or "Zip". Image is the image an environment
	// runs: for Image, the ImageUri (berth's ECR or a local image); for Zip,
	// the image berth made of the code, or of the runtime's base image.
	PackageType string
	Image       string
	// ImageConfig's overrides (empty: the image's own).
	EntryPoint, Command []string
	WorkingDirectory    string
	// Runtime and Handler of a Zip function ("provided.al2023",
	// "bootstrap").
	Runtime, Handler string
	// Environment is the function's variables (Lambda's own are added by
	// the runner).
	Environment map[string]string
	// MemoryMB is 128..10240; CPU is in proportion (1,769 MB = 1 vCPU).
	MemoryMB           int32
	Timeout            time.Duration
	EphemeralStorageMB int32
	// ReservedConcurrency caps this function's environments; -1: none set
	// (the account's unreserved pool applies).
	ReservedConcurrency int32
	CodeSha256          string
	// Role is the execution role's ARN.
	Role string
}

// Request is one synchronous invocation (RequestResponse).
type Request struct {
	Function  Function
	RequestID string
	Payload   []byte
	// LogTail asks for the last 4 KB of the invocation's log (LogType Tail).
	LogTail       bool
	ClientContext string
}

// Result is what an invocation returned. A function error is a Result
// with FunctionError set ("Unhandled"), not an error: Payload then holds the
// error document ({"errorMessage":..., "errorType":...}).
type Result struct {
	Payload       []byte
	FunctionError string
	// Log is the invocation's log tail when Request.LogTail was set.
	Log []byte
	// Duration is the invocation's, InitDuration the cold start's (0:
	// warm); MaxMemoryUsedMB is the environment's peak.
	Duration        time.Duration
	InitDuration    time.Duration
	MaxMemoryUsedMB int32
}

// Reasons of the apierr.Errors an Invoker returns for throttling
// (TooManyRequestsException with Lambda's Reason member).
const (
	ReasonReservedConcurrency = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonAccountConcurrency  = "ConcurrentInvocationLimitExceeded"
)

// Invoker runs invocations in execution environments.
type Invoker interface {
	Invoke(ctx context.Context, req Request) (Result, error)
}

// EventRequest is an asynchronous invocation asked for by another service:
// Function is a name, ARN or partial ARN with an optional qualifier;
// Principal the invoking service ("s3.amazonaws.com",
// "events.amazonaws.com", "scheduler.amazonaws.com"), checked with
// SourceArn and SourceAccount against the function's resource-based policy.
type EventRequest struct {
	Function      string
	Payload       []byte
	Principal     string
	SourceArn     string
	SourceAccount string
	// TraceHeader is the X-Ray trace header the invocation runs with
	// (Root, Parent, Sampled and Lineage, package events/lineage), kept
	// with the queued event; empty: a new trace.
	TraceHeader string
}

type traceKey struct{}

// WithTrace is ctx carrying the trace header an invocation runs with.
func WithTrace(ctx context.Context, header string) context.Context {
	if header == "" {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, header)
}

// TraceFrom is the trace header WithTrace put in ctx, or "".
func TraceFrom(ctx context.Context) string {
	h, _ := ctx.Value(traceKey{}).(string)
	return h
}

// EventSource is how S3, EventBridge and schedules invoke functions:
// through the function's durable asynchronous queue.
type EventSource interface {
	// CheckPermission returns nil when the function exists and its
	// resource-based policy lets the principal invoke it; else an
	// apierr.Error (NotFound for a missing function, PermissionDenied).
	CheckPermission(ctx context.Context, req EventRequest) error
	// InvokeEvent queues an Event invocation durably (it survives a kill -9
	// once InvokeEvent returned nil) after the same check.
	InvokeEvent(ctx context.Context, req EventRequest) error
}
