package scheduler

import (
	"encoding/json"
	"fmt"
)

// Placement constraint types, as ECS names them.
const (
	ConstraintDistinctInstance = "distinctInstance"
	ConstraintMemberOf         = "memberOf"
)

// Constraint is one ECS placement constraint: {"type": "distinctInstance"} or
// {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}.
// Constraints bind: an instance that fails one is never chosen.
type Constraint struct {
	Type       string `json:"type"`
	Expression string `json:"expression,omitempty"`

	// parsed caches the memberOf expression once ParseConstraints or MemberOf has
	// parsed it; a Constraint built as a literal is parsed by Place on each call.
	parsed *Expression
}

// MemberOf returns a memberOf constraint with its expression parsed.
func MemberOf(expression string) (Constraint, error) {
	c := Constraint{Type: ConstraintMemberOf, Expression: expression}
	var err error
	c.parsed, err = c.compile()
	return c, err
}

// String renders c the way scenario tests and explanations write it.
func (c Constraint) String() string {
	if c.Type == ConstraintMemberOf {
		return "memberOf(" + c.Expression + ")"
	}
	return c.Type
}

// Validate reports, in words a user can act on, why c is not a constraint ECS accepts.
func (c Constraint) Validate() error {
	_, err := c.compile()
	return err
}

// compile validates c and returns its parsed expression (nil for distinctInstance).
func (c Constraint) compile() (*Expression, error) {
	switch c.Type {
	case ConstraintDistinctInstance:
		if c.Expression != "" {
			return nil, invalidf("distinctInstance takes no expression, got %q", c.Expression)
		}
		return nil, nil
	case ConstraintMemberOf:
		if c.Expression == "" {
			return nil, invalidf("memberOf needs an expression, such as \"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]\"")
		}
		if c.parsed != nil {
			return c.parsed, nil
		}
		e, err := ParseExpression(c.Expression)
		if err != nil {
			return nil, fmt.Errorf("memberOf expression %q: %w", c.Expression, err)
		}
		return e, nil
	}
	return nil, invalidf("unknown placement constraint type %q: want distinctInstance or memberOf", c.Type)
}

// ParseConstraints decodes and validates an ECS placementConstraints JSON list; the
// memberOf expressions come back parsed, so Place does not parse them again.
func ParseConstraints(data []byte) ([]Constraint, error) {
	var list []Constraint
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, invalidf("placement constraints: %v", err)
	}
	if err := ValidateConstraints(list); err != nil {
		return nil, err
	}
	for i := range list {
		list[i].parsed, _ = list[i].compile()
	}
	return list, nil
}

// ValidateConstraints checks the count limit and each constraint, naming the bad one.
func ValidateConstraints(list []Constraint) error {
	return compileConstraints(list, func(Constraint, *Expression) {})
}

// compileConstraints validates list and hands each constraint and its parsed expression
// (nil for distinctInstance) to visit, in order.
func compileConstraints(list []Constraint, visit func(Constraint, *Expression)) error {
	if len(list) > MaxConstraints {
		return invalidf("%d placement constraints: at most %d are allowed", len(list), MaxConstraints)
	}
	for i, c := range list {
		e, err := c.compile()
		if err != nil {
			return fmt.Errorf("placement constraint %d: %w", i+1, err)
		}
		visit(c, e)
	}
	return nil
}
