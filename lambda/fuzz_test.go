package lambda

import (
	"testing"
)

// The function URL's response decoder never panics and always answers a
// valid status.
func FuzzURLResult(f *testing.F) {
	for _, s := range []string{`{"statusCode":200,"body":"x"}`, `{"statusCode":200,"isBase64Encoded":true,"body":"@@"}`, `[]`, `null`, `{"statusCode":1e9}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := URLResult(b, "")
		if r.Status < 100 || r.Status > 599 {
			t.Fatalf("status %d for %q", r.Status, b)
		}
	})
}

// FunctionName parsing never panics, and a name it accepts is one Lambda
// accepts: 1-64 characters of [a-zA-Z0-9-_].
func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"f", "f:1", "arn:aws:lambda:us-east-1:123456789012:function:f:live", "123456789012:function:f", "::", "arn:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := names.ParseFunctionName("FunctionName", s)
		if err == nil && (len(ref.Name) == 0 || len(ref.Name) > 64 || !namePattern.MatchString(ref.Name)) {
			t.Fatalf("%q accepted as %+v", s, ref)
		}
	})
}
