package ssm

import (
	"regexp"
	"strings"

	"github.com/berth/berth/apierr"
)

// MaxDepth is how many levels a parameter hierarchy may have.
const MaxDepth = 15

// maxNameWithARN is SSM's limit on a name together with the ARN text that
// precedes it ("arn:aws:ssm:us-east-2:111122223333:parameter/").
const maxNameWithARN = 1011

var nameChars = regexp.MustCompile(`^[a-zA-Z0-9_./-]+$`)

// reserved reports whether name starts with a prefix SSM keeps for itself
// (aws or ssm, in any case, with or without a leading slash).
func reserved(name string) bool {
	n := strings.ToLower(strings.TrimPrefix(name, "/"))
	return strings.HasPrefix(n, "aws") || strings.HasPrefix(n, "ssm")
}

// CheckName applies SSM's rules for the name of a parameter being created
// (field is the request member, "Name"); arnPrefix is the text its ARN puts
// before it.
func CheckName(field, name, arnPrefix string) error {
	switch {
	case name == "":
		return invalid(field, "must have length greater than or equal to 1")
	case len(arnPrefix)+len(strings.TrimPrefix(name, "/")) > maxNameWithARN:
		return invalid(field, "Parameter name: can't be longer than %d characters, with the %d characters of its ARN before it",
			maxNameWithARN-len(arnPrefix), len(arnPrefix))
	case !nameChars.MatchString(name):
		return invalid(field, "Parameter name: can contain only letters, numbers and the symbols _ . - / (no spaces or other symbols)")
	case reserved(name):
		return invalid(field, "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)")
	}
	return checkHierarchy(field, name, true)
}

// checkHierarchy checks the slashes of a name (or a path when name is
// false): a name with a slash is fully qualified (starts with one), no level
// is empty, and there are at most MaxDepth levels.
func checkHierarchy(field, name string, isName bool) error {
	if !strings.Contains(name, "/") {
		return nil
	}
	if !strings.HasPrefix(name, "/") {
		return invalid(field, "Parameter name must be a fully qualified name: a name with a / must start with /")
	}
	body := strings.TrimPrefix(name, "/")
	if !isName {
		body = strings.TrimSuffix(body, "/")
		if body == "" {
			return nil // "/" is the root path
		}
	}
	levels := strings.Split(body, "/")
	for _, l := range levels {
		if l == "" {
			return invalid(field, "Parameter name: a hierarchy level can't be empty (no // and no / at the end)")
		}
	}
	depth := len(levels)
	if !isName {
		depth++ // a path's parameters are one level below it
	}
	if depth > MaxDepth {
		e := fail(apierr.InvalidArgument, HierarchyLevelLimitExceededException,
			"%s: A hierarchy can have a maximum of %d levels (it has %d)", field, MaxDepth, len(levels))
		e.Field = field
		return e
	}
	return nil
}

// CheckPath applies SSM's rules to a GetParametersByPath path.
func CheckPath(field, path string) error {
	switch {
	case !strings.HasPrefix(path, "/"):
		return invalid(field, "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	case !nameChars.MatchString(path):
		return invalid(field, "Parameter path: can contain only letters, numbers and the symbols _ . - /")
	}
	return checkHierarchy(field, path, false)
}

// InPath reports whether name is under path: one level below it, or any
// level when recursive.
func InPath(name, path string, recursive bool) bool {
	prefix := strings.TrimSuffix(path, "/") + "/"
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	return recursive || !strings.Contains(rest, "/")
}

// ARNResource is the resource part of a parameter's ARN: "parameter/" and the
// name without its leading slash.
func ARNResource(name string) string { return "parameter/" + strings.TrimPrefix(name, "/") }

// NamesOfARNResource are the names a parameter ARN's resource ("parameter/a/b")
// can stand for: SSM drops a name's leading slash in its ARN, so
// "parameter/a" is "a" or "/a"; "parameter/a/b" can only be "/a/b".
func NamesOfARNResource(resource string) []string {
	rest, ok := strings.CutPrefix(resource, "parameter/")
	if !ok || rest == "" {
		return nil
	}
	if strings.Contains(rest, "/") {
		return []string{"/" + rest}
	}
	return []string{rest, "/" + rest}
}

// Selector is a name with what follows its last colon: a version number
// or a label ("db:3", "db:prod").
type Selector struct {
	Name    string
	Version int32  // 0: none
	Label   string // "": none
	Text    string // ":3", as GetParameter returns it; "" for none
}

var versionText = regexp.MustCompile(`^[0-9]+$`)

// ParseSelector splits "name:version" and "name:label". A name itself has
// no colon, so the last colon starts the selector.
func ParseSelector(field, s string) (Selector, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Selector{Name: s}, nil
	}
	sel := Selector{Name: s[:i], Text: s[i:]}
	v := s[i+1:]
	switch {
	case v == "":
		return sel, invalid(field, "a selector after : must be a version number or a label")
	case versionText.MatchString(v):
		if len(v) > 9 || v == "0" || strings.HasPrefix(v, "0") {
			return sel, invalid(field, "version %s is not a version number from 1", v)
		}
		n := int32(0)
		for _, c := range v {
			n = n*10 + int32(c-'0')
		}
		sel.Version = n
	default:
		sel.Label = v
	}
	return sel, nil
}
