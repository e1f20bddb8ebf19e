// Package envfile reads a container's environmentFiles as ECS does: each is
// an S3 object (type "s3", its value the object's ARN,
// arn:aws:s3:::BUCKET/KEY.env) of VARIABLE=VALUE lines. Lines starting with
// # are comments and blank lines are skipped; there is no quoting, escaping
// or interpolation: the value is everything after the first '='. Among a
// container's files the first that sets a variable wins, and the
// container's environment overrides them all (that last step is the
// agent's).
package envfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Type is the only type of environment file ECS takes.
const Type = "s3"

// MaxPerContainer is how many environment files a container may name.
const MaxPerContainer = 10

// MaxSize is the largest file berth reads (1 MiB): its variables travel in
// the task's assignment.
const MaxSize = 1 << 20

// Ext is the name ending ECS requires of an environment file.
const Ext = ".env"

// ErrSyntax is the class of a line that is not VARIABLE=VALUE.
var ErrSyntax = errors.New("not VARIABLE=VALUE")

// A Ref is an environment file's S3 object.
type Ref struct {
	ARN    string
	Bucket string
	Key    string
}

// ParseARN reads an environment file's value: the ARN of an S3 object
// (arn:PARTITION:s3:::BUCKET/KEY) whose key ends in .env. The error says
// which rule the value breaks.
func ParseARN(v string) (Ref, error) {
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return Ref{}, fmt.Errorf("%q is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY.env)", v)
	}
	bucket, key, ok := strings.Cut(parts[5], "/")
	switch {
	case !ok || bucket == "" || key == "":
		return Ref{}, fmt.Errorf("%q is not an S3 object ARN: it names no bucket and key (arn:aws:s3:::BUCKET/KEY.env)", v)
	case !strings.HasSuffix(key, Ext):
		return Ref{}, fmt.Errorf("%q: an environment file's name must end in %s", v, Ext)
	}
	return Ref{ARN: v, Bucket: bucket, Key: key}, nil
}

// A Var is one variable of a file, in the file's order.
type Var struct {
	Name, Value string
}

// Parse reads a file's variables in order. name is how errors call the file
// (its ARN); a line that is not a comment, blank or VARIABLE=VALUE with a
// name is an error naming the file and the line's number (never its text,
// which may hold a value).
func Parse(name string, data []byte) ([]Var, error) {
	var vars []Var
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(make([]byte, 0, 4096), MaxSize+1)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSuffix(s.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: line %d: %w: it has no '='", name, n, ErrSyntax)
		case k == "":
			return nil, fmt.Errorf("%s: line %d: %w: the variable's name is empty", name, n, ErrSyntax)
		case strings.ContainsAny(k, " \t\x00"):
			return nil, fmt.Errorf("%s: line %d: %w: the variable's name holds a space", name, n, ErrSyntax)
		case strings.ContainsRune(v, 0):
			return nil, fmt.Errorf("%s: line %d: %w: the value holds a NUL byte", name, n, ErrSyntax)
		}
		vars = append(vars, Var{Name: k, Value: v})
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return vars, nil
}

// Merge is the variables of files in ECS's precedence: the first file that
// sets a variable wins; within a file, as the ECS agent reads one into a
// map, its last line that does.
func Merge(files ...[]Var) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		file := map[string]string{}
		for _, v := range f {
			file[v.Name] = v.Value
		}
		for k, v := range file {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}
