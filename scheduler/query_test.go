package scheduler

import (
	"errors"
	"testing"
	"time"
)

func queryInstance() *Instance {
	return &Instance{
		ARN: "i-1", EC2InstanceID: "i-0abc123", Status: StatusActive, AgentConnected: true,
		AgentVersion: "1.68.2", RegisteredAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		RunningTasksCount: 3,
		Attributes: map[string]string{
			AttributeAvailabilityZone: "us-east-1a", AttributeInstanceType: "t3.large",
			"disk": "100", "flag": "",
		},
		TasksByGroup: map[string]int{"service:web": 2, "family:batch": 0},
	}
}

func TestExpressionMatch(t *testing.T) {
	in := queryInstance()
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute:ecs.instance-type =~ t3.*", true},
		{"attribute:ecs.instance-type =~ t3", false}, // regexes match the whole value
		{"attribute:ecs.instance-type !~ m5.*", true},
		{"attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone != us-east-1d", true},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
		{"attribute:ecs.availability-zone !in [us-east-1a, us-east-1b]", false},
		{"attribute:ecs.availability-zone == 'us-east-1a'", true},
		{`attribute:ecs.availability-zone == "us-east-1b" || attribute:disk > 50`, true},
		{"attribute:disk > 99.5 && attribute:disk <= 100", true},
		{"attribute:disk > 1000", false}, // numbers compare as numbers, not text
		{"attribute:flag exists", true},
		{"attribute:gpu exists", false},
		{"attribute:gpu !exists", true},
		{"attribute:gpu == x", false}, // a missing attribute matches only negations
		{"attribute:gpu != x", true},
		{"agentConnected == true", true},
		{"agentConnected != true", false},
		{"agentVersion >= 1.9.0", true}, // versions compare part by part
		{"agentVersion < 1.68.10", true},
		{"ec2InstanceId == i-0abc123", true},
		{"registeredAt > 2026-01-01", true},
		{"registeredAt < 2026-03-01T11:00:00Z", false},
		{"runningTasksCount < 4 and runningTasksCount >= 3", true},
		{"task:group == service:web", true},
		{"task:group == family:batch", false}, // zero tasks of a group is no task
		{"not(task:group == service:web)", false},
		{"!(task:group == database)", true},
		{"task:group in [database, service:web]", true},
		{"task:group =~ service:.*", true},
		{"task:group exists", true},
		{"not task:group == x and runningTasksCount == 3", true},
		{"(attribute:gpu exists or runningTasksCount == 3) and not (agentConnected == false)", true},
		{"runningTasksCount == 1 or runningTasksCount == 2 and runningTasksCount == 3", false}, // and binds tighter
		{"attribute:x exists OR agentConnected == true", true},                                 // keywords are case-insensitive
	}
	for _, tt := range tests {
		e, err := ParseExpression(tt.expr)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if got := e.Match(in); got != tt.want {
			t.Errorf("%q on %+v = %v, want %v", tt.expr, in, got, tt.want)
		}
	}
}

func TestExpressionErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{"", "column 1: empty expression"},
		{"ATTRIBUTE:x exists", `column 1: unknown subject "ATTRIBUTE:x"; want agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount or task:group`},
		{"attribute:x ==", `column 15: expected a value after "==" but found end of expression`},
		{"colour == red", `column 1: unknown subject "colour"; want agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount or task:group`},
		{"attribute: exists", "column 1: attribute: needs a name, as in attribute:ecs.instance-type"},
		{"attribute:x red", `column 13: expected an operator (==, !=, >, >=, <, <=, =~, !~, in, !in, exists, !exists) after "attribute:x" but found "red"`},
		{"(attribute:x exists", "column 20: expected ) but found end of expression"},
		{"attribute:x exists)", `column 19: unexpected ")"; expected and, or or the end`},
		{"attribute:x in a, b", `column 16: expected [ to start a list but found "a"`},
		{"attribute:x in [a b]", `column 19: expected , or ] in the list but found "b"`},
		{"attribute:x == 'a", "column 16: unterminated quoted value"},
		{"attribute:x =~ (", `column 16: expected a value after "=~" but found "("`},
		{"attribute:x =~ 'a('", "column 16: bad regular expression \"a(\": error parsing regexp: missing closing ): `^(?:a()$`"},
		{"runningTasksCount > many", `column 21: runningTasksCount compares with a number, not "many"`},
		{"runningTasksCount =~ 1", `column 19: operator "=~" does not apply to runningTasksCount`},
		{"agentConnected == yes", `column 19: agentConnected compares with true or false, not "yes"`},
		{"agentConnected > true", `column 16: operator ">" does not apply to agentConnected`},
		{"registeredAt > yesterday", `column 16: registeredAt compares with a time such as 2026-01-31 or 2026-01-31T12:00:00Z, not "yesterday"`},
		{"task:group > a", `column 12: operator ">" does not apply to task:group`},
		{"attribute:x = 1", `column 13: unexpected '='`},
		{"attribute:x exists and", "column 23: expected a subject such as attribute:NAME, not or ( but found end of expression"},
	}
	for _, tt := range tests {
		_, err := ParseExpression(tt.expr)
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != tt.want {
			t.Errorf("%q: error %v, want %q", tt.expr, err, tt.want)
		}
		if !errors.Is(err, ErrInvalidPlacement) {
			t.Errorf("%q: error does not match ErrInvalidPlacement", tt.expr)
		}
	}
}

func TestExpressionString(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"not(task:group == service:web)", "not (task:group == service:web)"},
		{"attribute:x in [a,'b c'] || attribute:y !exists && agentConnected == true",
			`(attribute:x in [a, "b c"] or (attribute:y !exists and agentConnected == true))`},
		{`attribute:x == 'say "hi"'`, `attribute:x == 'say "hi"'`},
		{`attribute:x == "and"`, `attribute:x == "and"`},
	}
	for _, tt := range tests {
		e, err := ParseExpression(tt.expr)
		if err != nil {
			t.Fatalf("%q: %v", tt.expr, err)
		}
		if got := e.String(); got != tt.want {
			t.Errorf("%q: String() = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

// FuzzParse checks that the parser never panics and that what it accepts prints back
// to an expression that parses to the same thing.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
		"not(task:group == service:web)", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
		"runningTasksCount > 2 || !(agentConnected == false)", "registeredAt < 2026-01-01",
		`attribute:x == "a b" && attribute:y !exists`, "agentVersion >= 1.9.0", "((",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := ParseExpression(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("%q: error %v has no position in the source", src, err)
			}
			return
		}
		e.Match(queryInstance())
		printed := e.String()
		again, err := ParseExpression(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", src, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q printed as %q, then as %q", src, printed, again.String())
		}
	})
}
