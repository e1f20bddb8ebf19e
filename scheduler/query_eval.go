package scheduler

import (
	"regexp"
	"strings"
)

// operator is a comparison in positive form; a comparison node carries a negate flag
// for !=, !~, !in and !exists, which are exactly the negation of ==, =~, in and exists.
type operator uint8

const (
	opEq operator = iota
	opGt
	opGe
	opLt
	opLe
	opMatch
	opIn
	opExists
)

// operators maps each spelling to its positive operator and whether it negates.
var operators = map[string]struct {
	op     operator
	negate bool
}{
	"==": {opEq, false}, "!=": {opEq, true}, ">": {opGt, false}, ">=": {opGe, false},
	"<": {opLt, false}, "<=": {opLe, false}, "=~": {opMatch, false}, "!~": {opMatch, true},
	"in": {opIn, false}, "!in": {opIn, true}, "exists": {opExists, false}, "!exists": {opExists, true},
}

// operatorOf recognizes an operator token; ok is false for anything else.
func operatorOf(t token) (op string, ok bool) {
	switch t.kind {
	case tokCompare, tokIn, tokNotIn, tokExists, tokNotExists:
		return strings.ToLower(t.text), true
	}
	return "", false
}

// comparison is a leaf of an expression: subject, operator, arguments.
//
// Semantics: an instance without a value for the subject (no such attribute, no
// registeredAt) satisfies only the negated operators. task:group is the set of groups the
// instance runs tasks of: == and in ask whether the set holds a value, =~ whether any
// group matches; ordering operators are not defined on it. Regular expressions must match
// the whole value, so "t2.*" means "starts with t2".
type comparison struct {
	subj   subject
	opText string
	op     operator
	negate bool
	args   []value
	re     *regexp.Regexp
}

// newComparison checks that the operator suits the subject and parses the arguments.
func newComparison(subj subject, opText string, opTok token, args []token) (node, error) {
	spec := operators[opText]
	c := &comparison{subj: subj, opText: opText, op: spec.op, negate: spec.negate}
	if err := c.checkOperator(opTok); err != nil {
		return nil, err
	}
	for _, a := range args {
		v, err := c.parseArg(a)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, v)
	}
	return c, nil
}

func (c *comparison) checkOperator(opTok token) error {
	ordering := c.op == opGt || c.op == opGe || c.op == opLt || c.op == opLe
	var bad bool
	switch c.subj.kind {
	case subjAgentConnected:
		bad = c.op != opEq
	case subjTaskGroup:
		bad = ordering
	case subjRunningTasksCount, subjRegisteredAt:
		bad = c.op == opMatch
	}
	if bad {
		return &SyntaxError{Offset: opTok.pos, Msg: "operator " + opTok.describe() + " does not apply to " + c.subj.text}
	}
	return nil
}

// parseArg parses one argument for the subject: a number, a time, true/false, or a regex.
func (c *comparison) parseArg(t token) (value, error) {
	v := value{text: t.text}
	v.num, v.isNum = parseNumber(t.text)
	fail := func(msg string) (value, error) {
		return value{}, &SyntaxError{Offset: t.pos, Msg: msg}
	}
	switch {
	case c.op == opMatch:
		re, err := regexp.Compile("^(?:" + t.text + ")$")
		if err != nil {
			return fail("bad regular expression " + t.describe() + ": " + err.Error())
		}
		c.re = re
	case c.subj.kind == subjRunningTasksCount && !v.isNum:
		return fail("runningTasksCount compares with a number, not " + t.describe())
	case c.subj.kind == subjAgentConnected && t.text != "true" && t.text != "false":
		return fail("agentConnected compares with true or false, not " + t.describe())
	case c.subj.kind == subjRegisteredAt:
		var ok bool
		if v.time, ok = parseTime(t.text); !ok {
			return fail("registeredAt compares with a time such as 2026-01-31 or 2026-01-31T12:00:00Z, not " + t.describe())
		}
	}
	return v, nil
}

func (c *comparison) eval(in *Instance) bool { return c.test(in) != c.negate }

// test evaluates the positive operator.
func (c *comparison) test(in *Instance) bool {
	if c.subj.kind == subjTaskGroup {
		return c.testGroups(in)
	}
	v, ok := c.subj.valueOf(in)
	if c.op == opExists || !ok {
		return ok && c.op == opExists
	}
	return c.testValue(v)
}

// testGroups evaluates the operator against the set of groups the instance runs.
func (c *comparison) testGroups(in *Instance) bool {
	for g, n := range in.TasksByGroup {
		if n > 0 && (c.op == opExists || c.testValue(value{text: g})) {
			return true
		}
	}
	return false
}

func (c *comparison) testValue(v value) bool {
	switch c.op {
	case opMatch:
		return c.re.MatchString(v.text)
	case opIn:
		for _, a := range c.args {
			if c.subj.compare(v, a) == 0 {
				return true
			}
		}
		return false
	}
	d := c.subj.compare(v, c.args[0])
	switch c.op {
	case opGt:
		return d > 0
	case opGe:
		return d >= 0
	case opLt:
		return d < 0
	case opLe:
		return d <= 0
	}
	return d == 0
}

func (c *comparison) write(b *strings.Builder) {
	b.WriteString(c.subj.text + " " + c.opText)
	switch c.op {
	case opExists:
		return
	case opIn:
		b.WriteString(" [")
		for i, a := range c.args {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteValue(a.text))
		}
		b.WriteString("]")
		return
	}
	b.WriteString(" " + quoteValue(c.args[0].text))
}

// quoteValue quotes a value unless it lexes back as the same single word.
func quoteValue(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		plain = isWordByte(s[i])
	}
	if _, kw := keywords[strings.ToLower(s)]; plain && !kw {
		return s
	}
	if strings.Contains(s, `"`) {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}
