package envfile

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []Var
		errLine    string // "" for no error, else the "line N" the error names
	}{
		{name: "empty", data: ""},
		{name: "one", data: "A=1", want: []Var{{"A", "1"}}},
		{name: "comments and blanks", data: "# a comment\n\nA=1\n   \n#B=2\nC=3\n", want: []Var{{"A", "1"}, {"C", "3"}}},
		{name: "CRLF", data: "A=1\r\nB=2\r\n", want: []Var{{"A", "1"}, {"B", "2"}}},
		{name: "no quoting", data: `A="quoted"` + "\nB='x'", want: []Var{{"A", `"quoted"`}, {"B", "'x'"}}},
		{name: "no interpolation", data: "A=$HOME ${B}", want: []Var{{"A", "$HOME ${B}"}}},
		{name: "first = splits", data: "URL=postgres://h/db?a=b", want: []Var{{"URL", "postgres://h/db?a=b"}}},
		{name: "empty value", data: "A=", want: []Var{{"A", ""}}},
		{name: "spaces kept in value", data: "A= x ", want: []Var{{"A", " x "}}},
		{name: "indented comment is a bad line", data: "A=1\n  # x", errLine: "line 2"},
		{name: "no equals", data: "A=1\nB=2\nJUSTTEXT\n", errLine: "line 3"},
		{name: "empty name", data: "=value", errLine: "line 1"},
		{name: "name with a space", data: "\n\nMY VAR=1", errLine: "line 3"},
		{name: "export prefix", data: "export A=1", errLine: "line 1"},
		{name: "NUL in value", data: "A=x\x00y", errLine: "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const file = "arn:aws:s3:::b/k.env"
			got, err := Parse(file, []byte(tc.data))
			if tc.errLine != "" {
				if err == nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), file+": "+tc.errLine+":") {
					t.Fatalf("Parse(%q) = %v, %v; want an error naming %s and %s", tc.data, got, err, file, tc.errLine)
				}
				if strings.Contains(tc.data, "=") && strings.Contains(err.Error(), "value\"") {
					t.Fatalf("error %q shows the line", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.data, got, err, tc.want)
			}
		})
	}
}

func TestParseLongLine(t *testing.T) {
	data := "A=" + strings.Repeat("x", 100_000)
	got, err := Parse("f", []byte(data))
	if err != nil || len(got) != 1 || len(got[0].Value) != 100_000 {
		t.Fatalf("Parse of a 100 kB line: %d vars, %v", len(got), err)
	}
}

func TestMerge(t *testing.T) {
	first := []Var{{"A", "from-first"}, {"B", "b1"}, {"B", "b2"}}
	second := []Var{{"A", "from-second"}, {"C", "c"}}
	got := Merge(first, second)
	want := map[string]string{"A": "from-first", "B": "b2", "C": "c"}
	if !maps.Equal(got, want) {
		t.Fatalf("Merge = %v, want %v", got, want)
	}
}

func TestParseARN(t *testing.T) {
	for _, tc := range []struct {
		v           string
		bucket, key string
		bad         string
	}{
		{v: "arn:aws:s3:::my-bucket/app.env", bucket: "my-bucket", key: "app.env"},
		{v: "arn:aws:s3:::my-bucket/dir/sub/app.env", bucket: "my-bucket", key: "dir/sub/app.env"},
		{v: "arn:aws-cn:s3:::b1/x.env", bucket: "b1", key: "x.env"},
		{v: "s3://my-bucket/app.env", bad: "not an S3 object ARN"},
		{v: "arn:aws:s3:::my-bucket", bad: "names no bucket and key"},
		{v: "arn:aws:s3:::/app.env", bad: "names no bucket and key"},
		{v: "arn:aws:s3:us-east-1::b/app.env", bad: "not an S3 object ARN"},
		{v: "arn:aws:ssm:::b/app.env", bad: "not an S3 object ARN"},
		{v: "arn:aws:s3:::b/app.txt", bad: "must end in .env"},
		{v: "arn:aws:s3:::b/d/.env", bucket: "b", key: "d/.env"},
		{v: "arn:aws:s3:::b/app.env.bak", bad: "must end in .env"},
	} {
		r, err := ParseARN(tc.v)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseARN(%q) = %v, %v; want an error saying %q", tc.v, r, err, tc.bad)
			}
			continue
		}
		if err != nil || r.Bucket != tc.bucket || r.Key != tc.key || r.ARN != tc.v {
			t.Errorf("ParseARN(%q) = %+v, %v", tc.v, r, err)
		}
	}
}
