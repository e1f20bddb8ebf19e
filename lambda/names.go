package lambda

import (
	"regexp"
	"strconv"
	"strings"
)

// Latest is the unpublished version of every function.
const Latest = "$LATEST"

// Namer renders Lambda's ARNs for one region and account.
type Namer struct {
	Region, Account string
}

// FunctionARN is arn:aws:lambda:REGION:ACCOUNT:function:NAME.
func (n Namer) FunctionARN(name string) string {
	return "arn:aws:lambda:" + n.Region + ":" + n.Account + ":function:" + name
}

// QualifiedARN is the function's ARN with :QUALIFIER when there is one.
func (n Namer) QualifiedARN(name, qualifier string) string {
	if qualifier == "" {
		return n.FunctionARN(name)
	}
	return n.FunctionARN(name) + ":" + qualifier
}

var (
	namePattern      = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	qualifierPattern = regexp.MustCompile(`^[a-zA-Z0-9$_-]+$`)
	versionPattern   = regexp.MustCompile(`^[0-9]+$`)
	aliasPattern     = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d$`)
	accountPattern   = regexp.MustCompile(`^\d{12}$`)
)

// FunctionNamePattern is Lambda's pattern of a FunctionName member, as its
// validation messages quote it.
const FunctionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// Ref is a function a request names: its name and the qualifier the name
// carried ("" for none).
type Ref struct {
	Name, Qualifier string
}

// ParseFunctionName reads a FunctionName member: a name, NAME:QUALIFIER, a
// full ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]) or a
// partial one (ACCOUNT:function:NAME[:QUALIFIER]). ARNs of another region
// or account name no function of berth's.
func (n Namer) ParseFunctionName(field, s string) (Ref, error) {
	bad := func() error {
		return Invalid(field, s, "Member must satisfy regular expression pattern: "+FunctionNamePattern)
	}
	if s == "" {
		return Ref{}, Invalid(field, s, "Member must have length greater than or equal to 1")
	}
	if len(s) > 170 {
		return Ref{}, checkLength(field, s, 1, 170)
	}
	parts := strings.Split(s, ":")
	var region, account string
	switch {
	case strings.HasPrefix(s, "arn:"):
		// arn aws lambda REGION ACCOUNT function NAME [QUALIFIER]
		if len(parts) < 7 || len(parts) > 8 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "lambda" || parts[5] != "function" {
			return Ref{}, bad()
		}
		region, account, parts = parts[3], parts[4], parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		if len(parts) > 4 {
			return Ref{}, bad()
		}
		account, parts = parts[0], parts[2:]
	case len(parts) > 2:
		return Ref{}, bad()
	}
	if region != "" && !regionPattern.MatchString(region) || account != "" && !accountPattern.MatchString(account) {
		return Ref{}, bad()
	}
	ref := Ref{Name: parts[0]}
	if len(parts) == 2 {
		ref.Qualifier = parts[1]
		if !qualifierPattern.MatchString(ref.Qualifier) {
			return Ref{}, bad()
		}
	}
	if !namePattern.MatchString(ref.Name) {
		return Ref{}, bad()
	}
	if len(ref.Name) > 64 {
		return Ref{}, InvalidParameter(field, "Function name can not be longer than 64 characters but got %d characters.", len(ref.Name)) // berth's words
	}
	if region != "" && region != n.Region || account != "" && account != n.Account {
		return Ref{}, FunctionNotFound(s)
	}
	return ref, nil
}

// Resolve joins the qualifier a name carried with the Qualifier member:
// they must agree when both are given.
func Resolve(ref Ref, qualifier string) (string, error) {
	if qualifier != "" {
		if err := CheckQualifier("Qualifier", qualifier); err != nil {
			return "", err
		}
	}
	switch {
	case ref.Qualifier == "":
		return qualifier, nil
	case qualifier == "" || qualifier == ref.Qualifier:
		return ref.Qualifier, nil
	}
	return "", InvalidParameter("Qualifier", "The derived qualifier from the function name does not match the specified qualifier.")
}

// CheckQualifier checks a Qualifier member: $LATEST, a version number or an
// alias name, 1 to 128 characters.
func CheckQualifier(field, q string) error {
	if err := checkLength(field, q, 1, 128); err != nil {
		return err
	}
	if !qualifierPattern.MatchString(q) {
		return Invalid(field, q, "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
	}
	return nil
}

// IsVersion reports whether a qualifier is a version ($LATEST or a number),
// not an alias.
func IsVersion(q string) bool { return q == Latest || versionPattern.MatchString(q) }

// CheckAliasName checks an alias's Name: 1 to 128 characters of
// [a-zA-Z0-9-_], not all digits.
func CheckAliasName(field, name string) error {
	if err := checkLength(field, name, 1, 128); err != nil {
		return err
	}
	if !aliasPattern.MatchString(name) || versionPattern.MatchString(name) {
		return Invalid(field, name, "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
	}
	return nil
}

// VersionKey sorts version numbers as numbers in the order of their keys.
func VersionKey(v int32) string {
	s := strconv.Itoa(int(v))
	return strings.Repeat("0", 10-len(s)) + s
}
