package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Placement strategy types, as ECS names them.
const (
	StrategyBinpack = "binpack"
	StrategySpread  = "spread"
	StrategyRandom  = "random"
)

// Placement strategy fields. FieldResources is berth's own: binpack over CPU and memory
// together (see rank.go), which strands less capacity than ECS's single-resource binpack.
const (
	FieldCPU        = "cpu"
	FieldMemory     = "memory"
	FieldResources  = "resources"
	FieldInstanceID = "instanceId"
	FieldHost       = "host"
	// AttributePrefix starts a spread field over an attribute: "attribute:NAME".
	AttributePrefix = "attribute:"
)

// Limits ECS puts on a placement request.
const (
	MaxStrategies  = 5
	MaxConstraints = 10
)

// ErrInvalidPlacement is wrapped by every error about a malformed strategy or
// constraint; the control plane maps it to InvalidParameterException.
var ErrInvalidPlacement = errors.New("invalid placement")

// Strategy is one ECS placement strategy, {"type": "spread", "field": "instanceId"}.
// Binpack fields are case-insensitive, as in ECS.
type Strategy struct {
	Type  string `json:"type"`
	Field string `json:"field,omitempty"`
}

// String renders s the way scenario tests and explanations write it: "binpack(memory)".
func (s Strategy) String() string {
	if s.Field == "" {
		return s.Type
	}
	return s.Type + "(" + s.Field + ")"
}

// Validate reports, in words a user can act on, why s is not a strategy ECS accepts.
func (s Strategy) Validate() error {
	switch s.Type {
	case StrategyBinpack:
		switch strings.ToLower(s.Field) {
		case FieldCPU, FieldMemory, FieldResources:
			return nil
		}
		return invalidf("binpack field must be cpu, memory or resources, not %q", s.Field)
	case StrategySpread:
		if s.Field == FieldInstanceID || s.Field == FieldHost {
			return nil
		}
		if name, ok := strings.CutPrefix(s.Field, AttributePrefix); ok && name != "" {
			return nil
		}
		return invalidf("spread field must be instanceId, host or attribute:NAME, not %q", s.Field)
	case StrategyRandom:
		if s.Field != "" {
			return invalidf("random takes no field, got %q", s.Field)
		}
		return nil
	}
	return invalidf("unknown placement strategy type %q: want binpack, spread or random", s.Type)
}

// ParseStrategies decodes and validates an ECS placementStrategy JSON list, such as
// [{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"memory"}].
func ParseStrategies(data []byte) ([]Strategy, error) {
	var list []Strategy
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, invalidf("placement strategies: %v", err)
	}
	return list, ValidateStrategies(list)
}

// ValidateStrategies checks the count limit and each strategy, naming the bad one.
func ValidateStrategies(list []Strategy) error {
	if len(list) > MaxStrategies {
		return invalidf("%d placement strategies: at most %d are allowed", len(list), MaxStrategies)
	}
	for i, s := range list {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("placement strategy %d: %w", i+1, err)
		}
	}
	return nil
}

// DefaultServiceStrategies returns what ECS uses for a service without strategies:
// spread over availability zones, then over instances.
func DefaultServiceStrategies() []Strategy {
	return []Strategy{
		{Type: StrategySpread, Field: AttributePrefix + AttributeAvailabilityZone},
		{Type: StrategySpread, Field: FieldInstanceID},
	}
}

// DefaultRunTaskStrategies returns what ECS uses for RunTask without strategies: random.
func DefaultRunTaskStrategies() []Strategy {
	return []Strategy{{Type: StrategyRandom}}
}

// invalidError is a user-facing message that matches ErrInvalidPlacement in errors.Is
// without repeating its text.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalidPlacement }

// invalidf formats a user-facing message that matches ErrInvalidPlacement.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}
