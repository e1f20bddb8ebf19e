package awsjson

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/berth/berth/apierr"
)

// walkMessage checks that v, a parsed JSON value, fits the message md: an
// object whose members are fields of md (by JSON or proto name), each once,
// each holding a value of its field's type. path names v in errors.
func walkMessage(v any, md protoreflect.MessageDescriptor, path string) error {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return nil // well-known types have their own JSON forms (a ListValue is an array); protojson checks them
	}
	obj, ok := v.(object)
	if !ok {
		return typeError(path, "a JSON object", v)
	}
	fields := md.Fields()
	seen := map[protoreflect.FieldNumber]bool{}
	for _, m := range obj.members {
		fd := fields.ByJSONName(m.key)
		if fd == nil {
			fd = fields.ByTextName(m.key)
		}
		if fd == nil {
			return apierr.Field(join(path, m.key), "unknown field")
		}
		p := join(path, fd.JSONName())
		if seen[fd.Number()] {
			return apierr.Field(p, "duplicate field")
		}
		seen[fd.Number()] = true
		if err := walkField(m.value, fd, p); err != nil {
			return err
		}
	}
	return nil
}

// walkField checks the value of one field; null means "not set".
func walkField(v any, fd protoreflect.FieldDescriptor, path string) error {
	if v == nil {
		return nil
	}
	switch {
	case fd.IsMap():
		obj, ok := v.(object)
		if !ok {
			return typeError(path, "a JSON object", v)
		}
		keys := map[string]bool{}
		for _, m := range obj.members {
			p := fmt.Sprintf("%s[%q]", path, m.key)
			if keys[m.key] {
				return apierr.Field(p, "duplicate key")
			}
			keys[m.key] = true
			if err := walkValue(m.value, fd.MapValue(), p); err != nil {
				return err
			}
		}
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return typeError(path, "a JSON array", v)
		}
		for i, elem := range list {
			if err := walkValue(elem, fd, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return walkValue(v, fd, path)
	}
	return nil
}

// walkValue checks one value of the field's kind: a single field's value, a
// list element or a map value.
func walkValue(v any, fd protoreflect.FieldDescriptor, path string) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return walkMessage(v, fd.Message(), path)
	case protoreflect.StringKind, protoreflect.BytesKind:
		text, ok := v.(string)
		if !ok {
			if redacted(fd) {
				return apierr.Field(path, "must be a string")
			}
			return typeError(path, "a string", v)
		}
		if fd.Kind() == protoreflect.BytesKind && !isBase64(text) {
			return apierr.Field(path, "must be base64 (a blob)")
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return typeError(path, "true or false", v)
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return checkFloat(v, path)
	case protoreflect.EnumKind:
		if _, ok := v.(string); !ok {
			return checkInt(v, 32, true, path)
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return checkInt(v, 32, true, path)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return checkInt(v, 32, false, path)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return checkInt(v, 64, true, path)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return checkInt(v, 64, false, path)
	}
	return nil
}

// jsonNumber is the JSON number grammar; protojson also takes integers and
// floats written as strings in it ("256").
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numberText returns the text of a JSON number, or of a string holding one.
func numberText(v any) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		return string(v), true
	case string:
		return v, jsonNumber.MatchString(v)
	}
	return "", false
}

func checkInt(v any, bits int, signed bool, path string) error {
	text, ok := numberText(v)
	if !ok {
		return typeError(path, "an integer", v)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) {
		return apierr.Field(path, "must be an integer, got %s", text)
	}
	lo, hi := -math.Pow(2, float64(bits-1)), math.Pow(2, float64(bits-1))-1
	if !signed {
		lo, hi = 0, math.Pow(2, float64(bits))-1
	}
	if f < lo || f > hi {
		return apierr.Field(path, "must be an integer between %.0f and %.0f, got %s", lo, hi, text)
	}
	return nil
}

func checkFloat(v any, path string) error {
	if s, ok := v.(string); ok && (s == "NaN" || s == "Infinity" || s == "-Infinity") {
		return nil
	}
	if _, ok := numberText(v); !ok {
		return typeError(path, "a number", v)
	}
	return nil
}

// redacted reports whether the field holds a secret (debug_redact), whose
// value no error may quote.
func redacted(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	return ok && opts.GetDebugRedact()
}

// isBase64 reports whether text is base64 as protojson takes it: standard
// or URL alphabet, padded or not.
func isBase64(text string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(text); err == nil {
			return true
		}
	}
	return false
}

// typeError says what a value should have been and what it was.
func typeError(path, want string, got any) error {
	if path == "" {
		return apierr.New(apierr.InvalidArgument, "",
			"invalid request: the document must be %s, got %s", want, describe(got))
	}
	return apierr.Field(path, "must be %s, got %s", want, describe(got))
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case object:
		return "an object"
	case []any:
		return "an array"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprintf("%T", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
