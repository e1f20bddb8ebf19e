package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Rule states.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
	// StateEnabledCloudTrail is accepted and kept as ENABLED's equal.
	StateEnabledCloudTrail = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// DefaultBus is the one event bus berth has.
const DefaultBus = "default"

// MaxTargetsPerRule is EventBridge's bound.
const MaxTargetsPerRule = 5

// MaxEntriesBytes bounds one PutEvents call's entries.
const MaxEntriesBytes = 256 * 1024

// MaxEntries bounds the entries of one PutEvents call.
const MaxEntries = 10

var nameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)

// CheckError is a member of a request that EventBridge refuses: Field names
// it, Message says why (ValidationException).
type CheckError struct {
	Field   string
	Message string
}

func (e *CheckError) Error() string { return e.Message }

func bad(field, format string, args ...any) *CheckError {
	return &CheckError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// CheckName checks a rule's or a target's name (1-64 of [.-_A-Za-z0-9]).
func CheckName(field, name string) error {
	if len(name) < 1 || len(name) > 64 {
		return bad(field, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to 64 and greater than or equal to 1", name, lowerFirst(field))
	}
	if !nameRE.MatchString(name) {
		return bad(field, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", name, lowerFirst(field))
	}
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// CheckState checks a rule's State.
func CheckState(state string) error {
	switch state {
	case "", StateEnabled, StateDisabled, StateEnabledCloudTrail:
		return nil
	}
	return bad("State", "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, DISABLED, ENABLED]", state)
}

// CheckDescription checks a rule's Description (at most 512 characters).
func CheckDescription(d string) error {
	if utf8.RuneCountInString(d) > 512 {
		return bad("Description", "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512")
	}
	return nil
}

// TargetSpec is what CheckTarget looks at.
type TargetSpec struct {
	ID, ARN   string
	Transform Transform
	// RetryAttempts and MaxAgeSeconds are RetryPolicy's (-1: not given).
	RetryAttempts, MaxAgeSeconds int64
	// TaskCount is EcsParameters.TaskCount (-1: no EcsParameters).
	TaskCount int64
}

// CheckTarget checks one target of PutTargets; field paths are within the
// target ("Input", "RetryPolicy.MaximumRetryAttempts").
func CheckTarget(t TargetSpec) error {
	if err := CheckName("Id", t.ID); err != nil {
		return err
	}
	if t.ARN == "" || len(t.ARN) > 1600 {
		return bad("Arn", "Parameter Arn is not valid: 1-1600 characters")
	}
	n := 0
	for _, set := range []bool{t.Transform.Input != "", t.Transform.InputPath != "", t.Transform.HasTransformer} {
		if set {
			n++
		}
	}
	if n > 1 {
		return bad("Input", "Only one of Input, InputPath, or InputTransformer must be provided.")
	}
	if t.Transform.Input != "" {
		if len(t.Transform.Input) > 8192 || !json.Valid([]byte(t.Transform.Input)) {
			return bad("Input", "Input is not valid JSON text.")
		}
	}
	if t.Transform.InputPath != "" {
		if len(t.Transform.InputPath) > 256 {
			return bad("InputPath", "InputPath is longer than 256 characters.")
		}
		if err := CheckPath(t.Transform.InputPath); err != nil {
			return bad("InputPath", "InputPath %q is not a valid JsonPath: %v", t.Transform.InputPath, err)
		}
	}
	if t.Transform.HasTransformer {
		if field, err := CheckTransformer(t.Transform.InputPathsMap, t.Transform.InputTemplate); err != nil {
			return bad("InputTransformer."+field, "InputTransformer.%s %v.", field, err)
		}
	}
	if t.RetryAttempts >= 0 && t.RetryAttempts > 185 {
		return bad("RetryPolicy.MaximumRetryAttempts", "1 validation error detected: Value '%d' at 'retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185", t.RetryAttempts)
	}
	if t.MaxAgeSeconds >= 0 && (t.MaxAgeSeconds < 60 || t.MaxAgeSeconds > 86400) {
		return bad("RetryPolicy.MaximumEventAgeInSeconds", "1 validation error detected: Value '%d' at 'retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400", t.MaxAgeSeconds)
	}
	if t.TaskCount >= 0 && (t.TaskCount < 1 || t.TaskCount > 10) {
		return bad("EcsParameters.TaskCount", "EcsParameters.TaskCount must be between 1 and 10")
	}
	return nil
}

// EntrySize is an entry's size as EventBridge counts it toward the 256 KB
// of a PutEvents call: 14 bytes for a Time, and the UTF-8 bytes of
// Source, DetailType, Detail and each resource.
func EntrySize(hasTime bool, source, detailType, detail string, resources []string) int {
	n := len(source) + len(detailType) + len(detail)
	if hasTime {
		n += 14
	}
	for _, r := range resources {
		n += len(r)
	}
	return n
}

// EntryError is the ErrorCode and ErrorMessage of a PutEvents entry that
// is refused (the call goes on with the other entries).
type EntryError struct{ Code, Message string }

// CheckEntry checks one PutEvents entry; nil: accepted.
func CheckEntry(source, detailType, detail string) *EntryError {
	switch {
	case source == "":
		return &EntryError{"InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."}
	case detailType == "":
		return &EntryError{"InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."}
	case detail == "":
		return &EntryError{"InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."}
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(detail), &obj) != nil || obj == nil {
		return &EntryError{"MalformedDetail", "Detail is malformed."}
	}
	return nil
}
