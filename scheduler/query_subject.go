package scheduler

import (
	"strings"
	"time"
)

// subjectKind is what a query expression compares: one of ECS's subjects.
type subjectKind uint8

const (
	subjAgentConnected subjectKind = iota
	subjAgentVersion
	subjAttribute
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
	subjTaskGroup
)

// subjectNames maps ECS's subject spellings to kinds; attribute:NAME is handled apart.
var subjectNames = map[string]subjectKind{
	"agentConnected":    subjAgentConnected,
	"agentVersion":      subjAgentVersion,
	"ec2InstanceId":     subjEC2InstanceID,
	"registeredAt":      subjRegisteredAt,
	"runningTasksCount": subjRunningTasksCount,
	"task:group":        subjTaskGroup,
}

// subject is a parsed subject; name is the attribute name for attribute:NAME.
type subject struct {
	kind subjectKind
	name string
	text string
}

func parseSubject(t token) (subject, error) {
	if name, ok := strings.CutPrefix(t.text, AttributePrefix); ok {
		if name == "" {
			return subject{}, &SyntaxError{Offset: t.pos, Msg: "attribute: needs a name, as in attribute:ecs.instance-type"}
		}
		return subject{kind: subjAttribute, name: name, text: t.text}, nil
	}
	if k, ok := subjectNames[t.text]; ok {
		return subject{kind: k, text: t.text}, nil
	}
	return subject{}, &SyntaxError{Offset: t.pos, Msg: "unknown subject " + t.describe() +
		"; want agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount or task:group"}
}

// value is an operand: what an instance has for a subject, or an argument in the query.
type value struct {
	text  string
	num   float64
	isNum bool
	time  time.Time
}

// valueOf returns the instance's value for a single-valued subject, and whether it has one.
func (s subject) valueOf(in *Instance) (value, bool) {
	switch s.kind {
	case subjAgentConnected:
		if in.AgentConnected {
			return value{text: "true"}, true
		}
		return value{text: "false"}, true
	case subjAgentVersion:
		return value{text: in.AgentVersion}, in.AgentVersion != ""
	case subjAttribute:
		v, ok := in.Attributes[s.name]
		return value{text: v}, ok
	case subjEC2InstanceID:
		return value{text: in.EC2InstanceID}, in.EC2InstanceID != ""
	case subjRegisteredAt:
		return value{time: in.RegisteredAt}, !in.RegisteredAt.IsZero()
	case subjRunningTasksCount:
		return value{num: float64(in.RunningTasksCount), isNum: true}, true
	}
	return value{}, false
}

// compare orders an instance's value a against an argument b for the subject's kind:
// numbers and times by value, agent versions part by part, and other strings by number
// when both are numbers, else byte by byte.
func (s subject) compare(a, b value) int {
	switch s.kind {
	case subjRunningTasksCount:
		return compareFloat(a.num, b.num)
	case subjRegisteredAt:
		return a.time.Compare(b.time)
	case subjAgentVersion:
		return compareVersions(a.text, b.text)
	}
	if b.isNum {
		if n, ok := parseNumber(a.text); ok {
			return compareFloat(n, b.num)
		}
	}
	return strings.Compare(a.text, b.text)
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareVersions compares dotted versions such as "1.68.2" numerically, part by part; a
// leading "v" is ignored and a missing part counts as 0.
func compareVersions(a, b string) int {
	a, b = strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")
	for a != "" || b != "" {
		var pa, pb string
		pa, a, _ = strings.Cut(a, ".")
		pb, b, _ = strings.Cut(b, ".")
		na, okA := parseNumber(pa)
		nb, okB := parseNumber(pb)
		if pa == "" {
			na, okA = 0, true
		}
		if pb == "" {
			nb, okB = 0, true
		}
		c := strings.Compare(pa, pb)
		if okA && okB {
			c = compareFloat(na, nb)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// parseNumber parses a plain decimal number without allocating on failure.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	var n, scale float64 = 0, 0
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			n = n*10 + float64(c-'0')
			digits++
			if scale > 0 {
				scale *= 10
			}
		case c == '.' && scale == 0:
			scale = 1
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if scale > 1 {
		n /= scale
	}
	if neg {
		n = -n
	}
	return n, true
}

// timeLayouts are the registeredAt forms accepted in queries.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
