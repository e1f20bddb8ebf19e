package lambda

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Limits of asynchronous invocation, as Lambda's.
const (
	MaxSyncPayload          = 6 * 1024 * 1024 // 6 MB
	MaxAsyncPayload         = 256 * 1024      // 256 KB
	DefaultRetryAttempts    = 2
	DefaultMaximumEventAge  = 6 * time.Hour
	MinEventAgeSeconds      = 60
	MaxEventAgeSeconds      = 21600
	FirstRetryDelay         = time.Minute
	InvocationEvent         = "Event"
	InvocationSync          = "RequestResponse"
	InvocationDryRun        = "DryRun"
	LogTail                 = "Tail"
	FunctionErrorUnhandled  = "Unhandled"
	ActionInvokeFunction    = "lambda:InvokeFunction"
	ActionInvokeFunctionURL = "lambda:InvokeFunctionUrl"
)

// CheckEventInvokeConfig checks PutFunctionEventInvokeConfig's members: the
// retries 0..2, the age 60..21600 s, destinations that are functions.
func CheckEventInvokeConfig(retries, age *int32, dest *berthv1.LambdaDestinationConfig, n Namer) error {
	if retries != nil {
		if err := checkRange("MaximumRetryAttempts", int64(*retries), 0, 2); err != nil {
			return err
		}
	}
	if age != nil {
		if err := checkRange("MaximumEventAgeInSeconds", int64(*age), MinEventAgeSeconds, MaxEventAgeSeconds); err != nil {
			return err
		}
	}
	for field, d := range map[string]string{"DestinationConfig.OnFailure.Destination": dest.GetOnFailure().GetDestination(), "DestinationConfig.OnSuccess.Destination": dest.GetOnSuccess().GetDestination()} {
		if d == "" {
			continue
		}
		if _, err := n.ParseFunctionName(field, d); err != nil || len(d) < 4 || d[:4] != "arn:" {
			e := InvalidParameter(field, "The destination ARN %s is invalid.", d)
			e.Detail = field + ": berth sends asynchronous results to another function only (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
			return e
		}
	}
	return nil
}

// Retry is what becomes of an Event invocation that failed (a function
// error or a throttle): another attempt at After, or, when its attempts or
// its age are spent, the on-failure destination (Drop).
type Retry struct {
	Drop  bool
	After time.Time
}

// DecideRetry decides after attempt number attempts (1: the first) failed
// at now, for an event enqueued at enqueued, with the function's event
// invoke config (nil: Lambda's defaults). Retries wait base (Lambda's
// FirstRetryDelay, a minute), then twice that, capped at five times;
// throttles are retried until the age.
func DecideRetry(cfg *berthv1.LambdaFunctionEventInvokeConfig, attempts int32, throttled bool, enqueued, now time.Time, base time.Duration) Retry {
	maxRetries := int32(DefaultRetryAttempts)
	if cfg != nil && cfg.MaximumRetryAttempts != nil {
		maxRetries = cfg.GetMaximumRetryAttempts()
	}
	maxAge := DefaultMaximumEventAge
	if cfg != nil && cfg.MaximumEventAgeInSeconds != nil {
		maxAge = time.Duration(cfg.GetMaximumEventAgeInSeconds()) * time.Second
	}
	delay := base << min(max(0, attempts-1), 8)
	if delay > 5*base {
		delay = 5 * base
	}
	next := now.Add(delay)
	if (!throttled && attempts > maxRetries) || !next.Before(enqueued.Add(maxAge)) {
		return Retry{Drop: true}
	}
	return Retry{After: next}
}

// Expired reports whether an event is older than its maximum age.
func Expired(cfg *berthv1.LambdaFunctionEventInvokeConfig, enqueued, now time.Time) bool {
	maxAge := DefaultMaximumEventAge
	if cfg != nil && cfg.MaximumEventAgeInSeconds != nil {
		maxAge = time.Duration(cfg.GetMaximumEventAgeInSeconds()) * time.Second
	}
	return now.After(enqueued.Add(maxAge))
}
