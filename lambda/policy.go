package lambda

import (
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// Statement is one statement of a function's resource-based policy, with
// its members in the order Lambda writes them.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// Policy is a resource-based policy document as GetPolicy answers it.
type Policy struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id"`
	Statement []Statement `json:"Statement"`
}

var (
	sidPattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	actionPattern    = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	principalPattern = regexp.MustCompile(`^[^\s]+$`)
)

// Permission is an AddPermission request's members.
type Permission struct {
	StatementID, Action, Principal, SourceArn, SourceAccount string
	EventSourceToken, PrincipalOrgID, FunctionURLAuthType    string
	// Resource is the function's ARN, qualified when the request named a
	// qualifier.
	Resource string
}

// NewStatement checks an AddPermission request and returns the statement
// Lambda writes for it.
func NewStatement(p Permission) (Statement, error) {
	if err := checkLength("StatementId", p.StatementID, 1, 100); err != nil {
		return Statement{}, err
	}
	if !sidPattern.MatchString(p.StatementID) {
		return Statement{}, Invalid("StatementId", p.StatementID, "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
	}
	if !actionPattern.MatchString(p.Action) {
		return Statement{}, Invalid("Action", p.Action, "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
	}
	if !principalPattern.MatchString(p.Principal) {
		return Statement{}, Invalid("Principal", p.Principal, `Member must satisfy regular expression pattern: [^\s]+`)
	}
	if p.SourceAccount != "" && !accountPattern.MatchString(p.SourceAccount) {
		return Statement{}, Invalid("SourceAccount", p.SourceAccount, `Member must satisfy regular expression pattern: \d{12}`)
	}
	if p.SourceArn != "" && !strings.HasPrefix(p.SourceArn, "arn:") {
		return Statement{}, Invalid("SourceArn", p.SourceArn, `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
	}
	if p.FunctionURLAuthType != "" && p.FunctionURLAuthType != "NONE" && p.FunctionURLAuthType != "AWS_IAM" {
		return Statement{}, Invalid("FunctionUrlAuthType", p.FunctionURLAuthType, "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	var principal any
	switch {
	case p.Principal == "*":
		principal = "*"
	case accountPattern.MatchString(p.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + p.Principal + ":root"}
	case strings.HasPrefix(p.Principal, "arn:"):
		principal = map[string]string{"AWS": p.Principal}
	case strings.Contains(p.Principal, "."):
		principal = map[string]string{"Service": p.Principal}
	default:
		return Statement{}, InvalidParameter("Principal", "The provided principal was invalid. Please check the principal and try again.")
	}
	s := Statement{Sid: p.StatementID, Effect: "Allow", Principal: principal, Action: p.Action, Resource: p.Resource}
	cond := func(op, key, value string) {
		if value == "" {
			return
		}
		if s.Condition == nil {
			s.Condition = map[string]map[string]string{}
		}
		if s.Condition[op] == nil {
			s.Condition[op] = map[string]string{}
		}
		s.Condition[op][key] = value
	}
	cond("StringEquals", "AWS:SourceAccount", p.SourceAccount)
	cond("StringEquals", "lambda:EventSourceToken", p.EventSourceToken)
	cond("StringEquals", "aws:PrincipalOrgID", p.PrincipalOrgID)
	cond("StringEquals", "lambda:FunctionUrlAuthType", p.FunctionURLAuthType)
	cond("ArnLike", "AWS:SourceArn", p.SourceArn)
	return s, nil
}

// ParseStatements reads stored statements (each a JSON document).
func ParseStatements(docs []string) ([]Statement, error) {
	out := make([]Statement, 0, len(docs))
	for _, d := range docs {
		var s Statement
		if err := json.Unmarshal([]byte(d), &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Document is the policy of the statements about resource.
func Document(stmts []Statement, resource string) (string, bool) {
	p := Policy{Version: "2012-10-17", ID: "default"}
	for _, s := range stmts {
		if s.Resource == resource {
			p.Statement = append(p.Statement, s)
		}
	}
	if len(p.Statement) == 0 {
		return "", false
	}
	b, _ := json.Marshal(p)
	return string(b), true
}

// Caller is who asks to invoke a function through another service.
type Caller struct {
	Principal, SourceArn, SourceAccount string
	// Action is lambda:InvokeFunction (or lambda:InvokeFunctionUrl).
	Action string
	// URLAuthType is a function URL's AuthType, for lambda:InvokeFunctionUrl.
	URLAuthType string
}

// Allows reports whether a statement of the policy on resource lets the
// caller invoke it: the principal (the service, the account or "*"), the
// action and the conditions match.
func Allows(stmts []Statement, resource string, c Caller) bool {
	for _, s := range stmts {
		if s.Effect != "Allow" || s.Resource != resource || !actionMatches(s.Action, c.Action) || !principalMatches(s.Principal, c.Principal) {
			continue
		}
		if conditionsHold(s.Condition, c) {
			return true
		}
	}
	return false
}

func actionMatches(pattern, action string) bool {
	return pattern == "*" || pattern == "lambda:*" || pattern == action
}

func principalMatches(p any, principal string) bool {
	switch t := p.(type) {
	case string:
		return t == "*"
	case map[string]any:
		for _, v := range t {
			if s, ok := v.(string); ok && (s == principal || s == "*") {
				return true
			}
		}
	case map[string]string:
		for _, v := range t {
			if v == principal || v == "*" {
				return true
			}
		}
	}
	return false
}

func conditionsHold(cond map[string]map[string]string, c Caller) bool {
	for op, kv := range cond {
		for k, want := range kv {
			var got string
			switch strings.ToLower(k) {
			case "aws:sourcearn":
				got = c.SourceArn
			case "aws:sourceaccount":
				got = c.SourceAccount
			case "lambda:functionurlauthtype":
				got = c.URLAuthType
			default:
				return false // a condition berth cannot tell from another service's invoke
			}
			switch op {
			case "ArnLike", "StringLike":
				if ok, _ := path.Match(want, got); !ok && !wildcard(want, got) {
					return false
				}
			default:
				if want != got {
					return false
				}
			}
		}
	}
	return true
}

// wildcard matches IAM's * and ? in s, across colons and slashes.
func wildcard(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), s)
	return ok
}
