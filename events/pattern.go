package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// MaxPatternBytes bounds an event pattern, as EventBridge bounds it.
const MaxPatternBytes = 4096

// PatternError is a pattern that does not parse: Path names where
// ("detail.state[0]"), Reason what is wrong. EventBridge answers it as
// InvalidEventPatternException.
type PatternError struct {
	Path   string
	Reason string
}

func (e *PatternError) Error() string {
	if e.Path == "" {
		return "Event pattern is not valid. Reason: " + e.Reason
	}
	return "Event pattern is not valid. Reason: " + e.Reason + " at " + e.Path
}

// Pattern is a parsed event pattern.
type Pattern struct {
	root *node
}

// node is one object of a pattern: its fields, each a nested object or a
// list of matchers, and its $or alternatives.
type node struct {
	fields []field
	or     []*node
}

type field struct {
	name     string
	nested   *node
	matchers []matcher
}

type kind int

const (
	mExact kind = iota + 1 // a string, number, boolean or null
	mPrefix
	mSuffix
	mAnythingBut
	mNumeric
	mExists
	mEqualsIgnoreCase
	mWildcard
	mCIDR
)

// value is a JSON scalar: string, float64 number, bool or null.
type value struct {
	t byte // 's', 'n', 'b', '0' (null)
	s string
	n float64
	b bool
}

type matcher struct {
	kind       kind
	value      value // mExact
	text       string
	ignoreCase bool          // prefix / suffix with equals-ignore-case
	exists     bool          // mExists
	ranges     []numericTest // mNumeric: all must hold
	prefix     netip.Prefix  // mCIDR
	// but is what anything-but refuses: values, or one matcher (prefix,
	// suffix, equals-ignore-case, wildcard) of each of its items.
	but []matcher
}

type numericTest struct {
	op string
	n  float64
}

// ParsePattern parses and checks an event pattern.
func ParsePattern(text string) (*Pattern, error) {
	if len(text) > MaxPatternBytes {
		return nil, &PatternError{Reason: fmt.Sprintf("the pattern is %d bytes, more than %d", len(text), MaxPatternBytes)}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &PatternError{Reason: "Filter is not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &PatternError{Reason: "Filter is not valid JSON: text after the pattern's object"}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, &PatternError{Reason: "Filter is not an object"}
	}
	if len(obj) == 0 {
		return nil, &PatternError{Reason: "Empty objects are not allowed"}
	}
	root, err := parseNode(obj, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func parseNode(obj map[string]any, path string) (*node, error) {
	n := &node{}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := obj[name]
		p := join(path, name)
		if name == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, &PatternError{Path: p, Reason: "$or must be an array of at least two objects"}
			}
			for i, a := range alts {
				ao, ok := a.(map[string]any)
				if !ok || len(ao) == 0 {
					return nil, &PatternError{Path: fmt.Sprintf("%s[%d]", p, i), Reason: "an $or alternative must be a non-empty object"}
				}
				alt, err := parseNode(ao, path)
				if err != nil {
					return nil, err
				}
				n.or = append(n.or, alt)
			}
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				return nil, &PatternError{Path: p, Reason: "Empty objects are not allowed"}
			}
			nested, err := parseNode(v, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: name, nested: nested})
		case []any:
			if len(v) == 0 {
				return nil, &PatternError{Path: p, Reason: "Empty arrays are not allowed"}
			}
			f := field{name: name}
			for i, item := range v {
				m, err := parseMatcher(item, fmt.Sprintf("%s[%d]", p, i))
				if err != nil {
					return nil, err
				}
				f.matchers = append(f.matchers, m)
			}
			n.fields = append(n.fields, f)
		default:
			return nil, &PatternError{Path: p, Reason: "Match value must be String, number, true, false, or null"}
		}
	}
	return n, nil
}

func scalar(v any) (value, bool) {
	switch v := v.(type) {
	case string:
		return value{t: 's', s: v}, true
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return value{}, false
		}
		return value{t: 'n', n: f}, true
	case float64:
		return value{t: 'n', n: v}, true
	case bool:
		return value{t: 'b', b: v}, true
	case nil:
		return value{t: '0'}, true
	}
	return value{}, false
}

func parseMatcher(item any, path string) (matcher, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		v, ok := scalar(item)
		if !ok {
			return matcher{}, &PatternError{Path: path, Reason: "Match value must be String, number, true, false, or null"}
		}
		return matcher{kind: mExact, value: v}, nil
	}
	if len(obj) != 1 {
		return matcher{}, &PatternError{Path: path, Reason: "a match object must have exactly one match type"}
	}
	for name, arg := range obj {
		p := path + "." + name
		switch name {
		case "prefix", "suffix":
			k := mPrefix
			if name == "suffix" {
				k = mSuffix
			}
			if s, ok := arg.(string); ok {
				return matcher{kind: k, text: s}, nil
			}
			if o, ok := arg.(map[string]any); ok && len(o) == 1 {
				if s, ok := o["equals-ignore-case"].(string); ok {
					return matcher{kind: k, text: s, ignoreCase: true}, nil
				}
			}
			return matcher{}, &PatternError{Path: p, Reason: name + " match pattern must be a string, or an object with equals-ignore-case"}
		case "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, &PatternError{Path: p, Reason: "equals-ignore-case match pattern must be a string"}
			}
			return matcher{kind: mEqualsIgnoreCase, text: s}, nil
		case "wildcard":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, &PatternError{Path: p, Reason: "wildcard match pattern must be a string"}
			}
			if reason := checkWildcard(s); reason != "" {
				return matcher{}, &PatternError{Path: p, Reason: reason}
			}
			return matcher{kind: mWildcard, text: s}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, &PatternError{Path: p, Reason: "exists match pattern must be either true or false"}
			}
			return matcher{kind: mExists, exists: b}, nil
		case "cidr":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, &PatternError{Path: p, Reason: "cidr match pattern must be a string"}
			}
			pre, err := netip.ParsePrefix(s)
			if err != nil {
				addr, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return matcher{}, &PatternError{Path: p, Reason: "Malformed CIDR, one '/' required"}
				}
				pre = netip.PrefixFrom(addr, addr.BitLen())
			}
			return matcher{kind: mCIDR, prefix: pre.Masked()}, nil
		case "numeric":
			return parseNumeric(arg, p)
		case "anything-but":
			return parseAnythingBut(arg, p)
		default:
			return matcher{}, &PatternError{Path: p, Reason: "Unrecognized match type " + name}
		}
	}
	panic("unreachable")
}

// checkWildcard refuses what EventBridge refuses: consecutive wildcards.
func checkWildcard(s string) (reason string) {
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return "Invalid wildcard pattern: a backslash escapes only * or \\"
			}
			i++
			prevStar = false
		case '*':
			if prevStar {
				return fmt.Sprintf("Consecutive wildcard characters at pos %d", i)
			}
			prevStar = true
		default:
			prevStar = false
		}
	}
	return ""
}

// maxNumeric is EventBridge's bound on numeric matching (inclusive).
const maxNumeric = 5e9

func parseNumeric(arg any, path string) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
		return matcher{}, &PatternError{Path: path, Reason: "Value of numeric must be an array of one or two comparisons: [op, number] or [op, number, op, number]"}
	}
	m := matcher{kind: mNumeric}
	var lower, upper, eq bool
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		if !ok {
			return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "numeric comparison operator must be a string"}
		}
		v, ok := scalar(list[i+1])
		if !ok || v.t != 'n' {
			return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i+1), Reason: "Value of " + op + " must be a number"}
		}
		if math.Abs(v.n) > maxNumeric {
			return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i+1), Reason: "Value of " + op + " must be between -5.0E9 and 5.0E9 inclusive"}
		}
		switch op {
		case "=":
			if len(list) != 2 {
				return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "= takes no other comparison"}
			}
			eq = true
		case "<", "<=":
			if upper {
				return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "Bad numeric range: two upper bounds"}
			}
			upper = true
		case ">", ">=":
			if lower {
				return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "Bad numeric range: two lower bounds"}
			}
			lower = true
		default:
			return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "Unrecognized numeric range operator: " + op}
		}
		m.ranges = append(m.ranges, numericTest{op: op, n: v.n})
	}
	_ = eq
	if len(m.ranges) == 2 {
		lo, hi := m.ranges[0], m.ranges[1]
		if lo.op[0] == '<' {
			lo, hi = hi, lo
		}
		if lo.n >= hi.n && !(lo.n == hi.n && lo.op == ">=" && hi.op == "<=") {
			return matcher{}, &PatternError{Path: path, Reason: "Bad numeric range: the lower bound must be below the upper bound"}
		}
	}
	return m, nil
}

func parseAnythingBut(arg any, path string) (matcher, error) {
	m := matcher{kind: mAnythingBut}
	switch a := arg.(type) {
	case []any:
		if len(a) == 0 {
			return matcher{}, &PatternError{Path: path, Reason: "Empty arrays are not allowed"}
		}
		var t byte
		for i, item := range a {
			v, ok := scalar(item)
			if !ok || (v.t != 's' && v.t != 'n') {
				return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "Inside anything-but list, start|null|boolean is not supported."}
			}
			if t != 0 && v.t != t {
				return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", path, i), Reason: "Inside anything but list, all values must be of the same type (strings or numbers)"}
			}
			t = v.t
			m.but = append(m.but, matcher{kind: mExact, value: v})
		}
		return m, nil
	case map[string]any:
		if len(a) != 1 {
			return matcher{}, &PatternError{Path: path, Reason: "anything-but takes one of prefix, suffix, equals-ignore-case or wildcard"}
		}
		for name, inner := range a {
			p := path + "." + name
			var k kind
			switch name {
			case "prefix":
				k = mPrefix
			case "suffix":
				k = mSuffix
			case "equals-ignore-case":
				k = mEqualsIgnoreCase
			case "wildcard":
				k = mWildcard
			default:
				return matcher{}, &PatternError{Path: p, Reason: "Unsupported anything-but pattern: " + name}
			}
			var texts []string
			switch in := inner.(type) {
			case string:
				texts = []string{in}
			case []any:
				if k == mPrefix || k == mSuffix || len(in) == 0 {
					return matcher{}, &PatternError{Path: p, Reason: "Value of " + name + " inside anything-but must be a string"}
				}
				for i, item := range in {
					s, ok := item.(string)
					if !ok {
						return matcher{}, &PatternError{Path: fmt.Sprintf("%s[%d]", p, i), Reason: "Value of " + name + " inside anything-but must be a string"}
					}
					texts = append(texts, s)
				}
			default:
				return matcher{}, &PatternError{Path: p, Reason: "Value of " + name + " inside anything-but must be a string"}
			}
			for _, s := range texts {
				if (k == mPrefix || k == mSuffix) && s == "" {
					return matcher{}, &PatternError{Path: p, Reason: "Null prefix/suffix not allowed"}
				}
				if k == mWildcard {
					if reason := checkWildcard(s); reason != "" {
						return matcher{}, &PatternError{Path: p, Reason: reason}
					}
				}
				m.but = append(m.but, matcher{kind: k, text: s})
			}
		}
		return m, nil
	default:
		v, ok := scalar(arg)
		if !ok || (v.t != 's' && v.t != 'n') {
			return matcher{}, &PatternError{Path: path, Reason: "Value of anything-but must be an array or single string/number value."}
		}
		m.but = []matcher{{kind: mExact, value: v}}
		return m, nil
	}
}

// Match reports whether the event (a JSON object) matches the pattern. An
// event that is not a JSON object matches nothing.
func (p *Pattern) Match(event []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false, fmt.Errorf("event is not valid JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return false, fmt.Errorf("event is not a JSON object")
	}
	return p.MatchValue(obj), nil
}

// MatchValue matches an event already decoded (numbers as json.Number or
// float64).
func (p *Pattern) MatchValue(event map[string]any) bool {
	return p.root.match(event, true)
}

// match reports whether v (present or absent) matches the node: every
// field, and one of the $or alternatives when there are some.
func (n *node) match(v any, present bool) bool {
	if arr, ok := v.([]any); ok && present {
		for _, el := range arr {
			if n.match(el, true) {
				return true
			}
		}
		return false
	}
	obj, _ := v.(map[string]any)
	for _, f := range n.fields {
		fv, ok := obj[f.name]
		if !f.match(fv, ok && present) {
			return false
		}
	}
	if len(n.or) == 0 {
		return true
	}
	for _, alt := range n.or {
		if alt.match(v, present) {
			return true
		}
	}
	return false
}

func (f field) match(v any, present bool) bool {
	if f.nested != nil {
		return f.nested.match(v, present)
	}
	for _, m := range f.matchers {
		if m.matchField(v, present) {
			return true
		}
	}
	return false
}

// matchField matches a leaf: exists looks at presence; every other matcher
// needs a scalar, or an array one element of which matches.
func (m matcher) matchField(v any, present bool) bool {
	if m.kind == mExists {
		if !m.exists {
			return !present
		}
		if !present {
			return false
		}
		if _, isObj := v.(map[string]any); isObj {
			return false
		}
		if arr, isArr := v.([]any); isArr {
			return len(arr) > 0
		}
		return true
	}
	if !present {
		return false
	}
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			if s, ok := scalar(el); ok && m.matchScalar(s) {
				return true
			}
		}
		return false
	}
	s, ok := scalar(v)
	return ok && m.matchScalar(s)
}

func (m matcher) matchScalar(v value) bool {
	switch m.kind {
	case mExact:
		if m.value.t != v.t {
			return false
		}
		switch v.t {
		case 's':
			return v.s == m.value.s
		case 'n':
			return v.n == m.value.n
		case 'b':
			return v.b == m.value.b
		}
		return true
	case mPrefix:
		if v.t != 's' {
			return false
		}
		if m.ignoreCase {
			return len(v.s) >= len(m.text) && strings.EqualFold(v.s[:len(m.text)], m.text)
		}
		return strings.HasPrefix(v.s, m.text)
	case mSuffix:
		if v.t != 's' {
			return false
		}
		if m.ignoreCase {
			return len(v.s) >= len(m.text) && strings.EqualFold(v.s[len(v.s)-len(m.text):], m.text)
		}
		return strings.HasSuffix(v.s, m.text)
	case mEqualsIgnoreCase:
		return v.t == 's' && strings.EqualFold(v.s, m.text)
	case mWildcard:
		return v.t == 's' && wildcardMatch(m.text, v.s)
	case mCIDR:
		if v.t != 's' {
			return false
		}
		addr, err := netip.ParseAddr(v.s)
		return err == nil && m.prefix.Contains(addr)
	case mNumeric:
		if v.t != 'n' {
			return false
		}
		for _, r := range m.ranges {
			var ok bool
			switch r.op {
			case "=":
				ok = v.n == r.n
			case "<":
				ok = v.n < r.n
			case "<=":
				ok = v.n <= r.n
			case ">":
				ok = v.n > r.n
			case ">=":
				ok = v.n >= r.n
			}
			if !ok {
				return false
			}
		}
		return true
	case mAnythingBut:
		for _, b := range m.but {
			if b.matchScalar(v) {
				return false
			}
		}
		// prefix and suffix exclusions apply to strings only.
		if len(m.but) > 0 && m.but[0].kind != mExact && v.t != 's' {
			return false
		}
		return true
	}
	return false
}

// wildcardMatch matches s against a pattern where * is any run of
// characters, \* a star and \\ a backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		c    byte
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*':
			toks = append(toks, tok{star: true})
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			toks = append(toks, tok{c: pattern[i]})
		default:
			toks = append(toks, tok{c: pattern[i]})
		}
	}
	// Greedy match with backtracking to the last star.
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) && !toks[ti].star && toks[ti].c == s[si] {
			ti++
			si++
			continue
		}
		if ti < len(toks) && toks[ti].star {
			starT, starS = ti, si
			ti++
			continue
		}
		if starT >= 0 {
			starS++
			si = starS
			ti = starT + 1
			continue
		}
		return false
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
