package events

import (
	"errors"
	"strings"
	"testing"
)

// ec2Event is the example event of EventBridge's documentation on event
// patterns, with the fields its content-filtering examples look at.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    "FileName": "image.png",
    "responseElements": null,
    "eventVersion": "",
    "tags": ["blue", "green"],
    "nested": {"a": {"b": "deep"}}
  }
}`

// TestPatternDocumentedExamples runs the examples of "Content filtering in
// Amazon EventBridge event patterns" (and the event patterns page) against
// the example event, each with the answer EventBridge gives.
func TestPatternDocumentedExamples(t *testing.T) {
	cases := []struct {
		name, pattern string
		want          bool
	}{
		{"source", `{"source": ["aws.ec2"]}`, true},
		{"source and detail-type", `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}`, true},
		{"one of the values", `{"detail": {"state": ["running", "terminated"]}}`, true},
		{"none of the values", `{"detail": {"state": ["running", "pending"]}}`, false},
		{"prefix time", `{"time": [{"prefix": "2017-12-22"}]}`, true},
		{"prefix no", `{"time": [{"prefix": "2017-10-02"}]}`, false},
		{"prefix region", `{"source": ["aws.ec2"], "region": [{"prefix": "us-"}]}`, true},
		{"prefix ignoring case", `{"detail-type": [{"prefix": {"equals-ignore-case": "ec2 instance"}}]}`, true},
		{"suffix", `{"detail": {"FileName": [{"suffix": ".png"}]}}`, true},
		{"suffix no", `{"detail": {"FileName": [{"suffix": ".txt"}]}}`, false},
		{"suffix ignoring case", `{"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}`, true},
		{"anything-but string", `{"detail": {"state": [{"anything-but": "initializing"}]}}`, true},
		{"anything-but string no", `{"detail": {"state": [{"anything-but": "terminated"}]}}`, false},
		{"anything-but number", `{"detail": {"x-limit": [{"anything-but": 123}]}}`, true},
		{"anything-but list of strings", `{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`, true},
		{"anything-but list of strings no", `{"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}`, false},
		{"anything-but list of numbers", `{"detail": {"c-count": [{"anything-but": [100, 200, 300]}]}}`, true},
		{"anything-but list of numbers no", `{"detail": {"c-count": [{"anything-but": [1, 5]}]}}`, false},
		{"anything-but prefix", `{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`, true},
		{"anything-but prefix no", `{"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}`, false},
		{"anything-but suffix", `{"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}`, true},
		{"anything-but suffix no", `{"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}}`, false},
		{"anything-but ignoring case", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}}`, true},
		{"anything-but ignoring case no", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}}`, false},
		{"anything-but wildcard", `{"detail": {"FileName": [{"anything-but": {"wildcard": "*/lib/*"}}]}}`, true},
		{"anything-but wildcard no", `{"detail": {"FileName": [{"anything-but": {"wildcard": "*.png"}}]}}`, false},
		{"anything-but on a missing field", `{"detail": {"missing": [{"anything-but": "x"}]}}`, false},
		{"numeric range", `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}`, true},
		{"numeric out of range", `{"detail": {"c-count": [{"numeric": [">", 5]}]}}`, false},
		{"numeric on a string", `{"detail": {"state": [{"numeric": [">", 0]}]}}`, false},
		{"number equals number", `{"detail": {"c-count": [5.0]}}`, true},
		{"number is not its string", `{"detail": {"c-count": ["5"]}}`, false},
		{"cidr", `{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, true},
		{"cidr no", `{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}`, false},
		{"exists", `{"detail": {"state": [{"exists": true}]}}`, true},
		{"exists on a missing field", `{"detail": {"missing": [{"exists": true}]}}`, false},
		{"does not exist", `{"detail": {"missing": [{"exists": false}]}}`, true},
		{"does not exist no", `{"detail": {"state": [{"exists": false}]}}`, false},
		{"exists is for leaves", `{"detail": {"nested": [{"exists": true}]}}`, false},
		{"equals-ignore-case", `{"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}`, true},
		{"wildcard", `{"resources": [{"wildcard": "arn:aws:ec2:us-west-1:*:instance/*"}]}`, true},
		{"wildcard no", `{"resources": [{"wildcard": "arn:aws:ec2:eu-*"}]}`, false},
		{"wildcard escaped star", `{"detail": {"FileName": [{"wildcard": "image\\*png"}]}}`, false},
		{"null", `{"detail": {"responseElements": [null]}}`, true},
		{"null is not missing", `{"detail": {"missing": [null]}}`, false},
		{"empty string", `{"detail": {"eventVersion": [""]}}`, true},
		{"empty string is not null", `{"detail": {"responseElements": [""]}}`, false},
		{"array: any element", `{"detail": {"tags": ["green"]}}`, true},
		{"array: no element", `{"detail": {"tags": ["red"]}}`, false},
		{"array field of the pattern against an array of the event", `{"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0", "x"]}`, true},
		{"nested objects", `{"detail": {"nested": {"a": {"b": ["deep"]}}}}`, true},
		{"nested objects no", `{"detail": {"nested": {"a": {"b": ["shallow"]}}}}`, false},
		{"$or first", `{"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 0]}]}]}}`, true},
		{"$or second", `{"detail": {"$or": [{"c-count": [{"numeric": [">", 9]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}}`, true},
		{"$or none", `{"detail": {"$or": [{"c-count": [{"numeric": [">", 9]}]}, {"d-count": [{"numeric": ["<", 0]}]}]}}`, false},
		{"$or at the top with other fields", `{"source": ["aws.ec2"], "$or": [{"region": ["eu-west-1"]}, {"detail": {"state": ["terminated"]}}]}`, true},
		{"$or at the top, other field fails", `{"source": ["aws.s3"], "$or": [{"region": ["us-west-1"]}, {"detail": {"state": ["terminated"]}}]}`, false},
		{"the documented complex example", `{"time": [{"prefix": "2017-12-22"}], "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePattern(c.pattern)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := p.Match([]byte(ec2Event))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("match = %v, want %v", got, c.want)
			}
		})
	}
}

// TestPatternInvalid: each refusal names the path of what is wrong.
func TestPatternInvalid(t *testing.T) {
	cases := []struct{ pattern, path, reason string }{
		{`not json`, "", "not valid JSON"},
		{`[1]`, "", "not an object"},
		{`{}`, "", "Empty objects"},
		{`{"source": "aws.ec2"}`, "source", "Match value must be"},
		{`{"source": []}`, "source", "Empty arrays"},
		{`{"detail": {"state": [{"prefixx": "a"}]}}`, "detail.state[0].prefixx", "Unrecognized match type"},
		{`{"detail": {"n": [{"numeric": [">", "a"]}]}}`, "detail.n[0].numeric[1]", "must be a number"},
		{`{"detail": {"n": [{"numeric": ["~", 1]}]}}`, "detail.n[0].numeric[0]", "Unrecognized numeric range operator"},
		{`{"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}}`, "detail.n[0].numeric", "Bad numeric range"},
		{`{"detail": {"n": [{"numeric": [">", 1, ">", 2]}]}}`, "detail.n[0].numeric[2]", "two lower bounds"},
		{`{"detail": {"e": [{"exists": "yes"}]}}`, "detail.e[0].exists", "true or false"},
		{`{"detail": {"w": [{"wildcard": "a**b"}]}}`, "detail.w[0].wildcard", "Consecutive wildcard"},
		{`{"detail": {"a": [{"anything-but": [1, "x"]}]}}`, "detail.a[0].anything-but[1]", "same type"},
		{`{"detail": {"a": [{"anything-but": {"numeric": [">", 1]}}]}}`, "detail.a[0].anything-but.numeric", "Unsupported anything-but"},
		{`{"detail": {"$or": [{"a": ["x"]}]}}`, "detail.$or", "at least two"},
		{`{"detail": {"a": [{"prefix": "x", "suffix": "y"}]}}`, "detail.a[0]", "exactly one"},
		{`{"detail": {"c": [{"cidr": "nope"}]}}`, "detail.c[0].cidr", "CIDR"},
	}
	for _, c := range cases {
		_, err := ParsePattern(c.pattern)
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a PatternError", c.pattern, err)
			continue
		}
		if pe.Path != c.path || !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("%s: path %q reason %q, want path %q reason containing %q", c.pattern, pe.Path, pe.Reason, c.path, c.reason)
		}
	}
}

// FuzzParsePattern: the parser never panics, and a pattern it accepts
// matches any object without panicking.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		`{"source": ["aws.ec2"]}`,
		`{"detail": {"$or": [{"a": [{"numeric": [">", 0, "<=", 5]}]}, {"b": [{"anything-but": {"prefix": "x"}}]}]}}`,
		`{"a": [{"wildcard": "a*b\\*c"}, {"exists": false}, null, "", 1.5, true]}`,
		`{"a": [{"cidr": "10.0.0.0/8"}, {"equals-ignore-case": "X"}, {"suffix": {"equals-ignore-case": "y"}}]}`,
	} {
		f.Add(s, ec2Event)
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error of another type: %v", err)
			}
			return
		}
		_, _ = p.Match([]byte(event))
	})
}
