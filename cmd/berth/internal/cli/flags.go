package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/berth/berth/awsapi/awsjson"
)

// fieldFlag is the flag for one member of a request message, named as the
// aws CLI names it. It keeps the values given and sets the member once the
// command line is parsed (set), so that they override --cli-input-json.
//
// Values are read as aws reads them: a list member takes several values
// (--services a b, see expandLists); a structure member takes JSON or the
// shorthand key=value,key=value (--placement-strategy
// type=spread,field=attribute:ecs.availability-zone).
type fieldFlag struct {
	fd   protoreflect.FieldDescriptor
	vals []string
}

func (f *fieldFlag) String() string { return strings.Join(f.vals, " ") }
func (f *fieldFlag) Set(s string) error {
	f.vals = append(f.vals, s)
	return nil
}
func (f *fieldFlag) isList() bool { return f.fd.IsList() || jsonList(f.fd) }

// jsonList reports whether a member is a list kept as JSON in berth's
// message (UpdateService's loadBalancers: a ListValue, so that an empty
// list is told from none). Its flag takes structures as a list member's.
func jsonList(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && fd.Message().FullName() == "google.protobuf.ListValue"
}

func (f *fieldFlag) Type() string {
	switch {
	case f.fd.Message() != nil && (f.fd.IsList() || jsonList(f.fd)):
		return "json|shorthand..."
	case f.fd.Message() != nil:
		return "json|shorthand"
	case f.fd.IsList():
		return "strings"
	case f.fd.Kind() == protoreflect.BoolKind:
		return "bool"
	case f.fd.Kind() == protoreflect.StringKind:
		return "string"
	}
	return "number"
}

// negFlag is a boolean member's --no-NAME: it sets the member false.
type negFlag struct{ f *fieldFlag }

func (n negFlag) String() string { return "" }
func (n negFlag) Type() string   { return "bool" }
func (n negFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	return n.f.Set(strconv.FormatBool(!v))
}

// listFlag is implemented by flags that take several values.
type listFlag interface{ isList() bool }

// addFieldFlags adds a flag for each member of the request message md except
// those in skip, and returns them.
func addFieldFlags(fs *pflag.FlagSet, md protoreflect.MessageDescriptor, skip ...string) []*fieldFlag {
	var out []*fieldFlag
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() || slices.Contains(skip, fd.JSONName()) {
			continue
		}
		f := &fieldFlag{fd: fd}
		name := kebab(fd.JSONName())
		fl := fs.VarPF(f, name, "", usage(fd))
		if fd.Kind() == protoreflect.BoolKind && !fd.IsList() {
			fl.NoOptDefVal = "true"
			fs.VarPF(negFlag{f}, "no-"+name, "", "sets "+fd.JSONName()+" false").NoOptDefVal = "true"
		}
		out = append(out, f)
	}
	return out
}

// usage is a member's flag help: its ECS name and how to give it.
func usage(fd protoreflect.FieldDescriptor) string {
	u := "the request's " + fd.JSONName()
	if fd.Message() != nil {
		u += ", as JSON or key=value,key=value"
	}
	if fd.IsList() {
		u += "; one or more"
	}
	return u
}

// set sets the member in m from the values given; a flag not given leaves it
// as it is.
func (f *fieldFlag) set(m protoreflect.Message) error {
	if len(f.vals) == 0 {
		return nil
	}
	name := "--" + kebab(f.fd.JSONName())
	if jsonList(f.fd) {
		v := m.NewField(f.fd)
		if err := jsonListValue(f.vals, v.Message().Interface()); err != nil {
			return usagef("%s: %v", name, err)
		}
		m.Set(f.fd, v)
		return nil
	}
	if !f.fd.IsList() {
		v, err := fieldValue(m, f.fd, f.vals[len(f.vals)-1])
		if err != nil {
			return usagef("%s: %v", name, err)
		}
		m.Set(f.fd, v)
		return nil
	}
	m.Clear(f.fd)
	l := m.Mutable(f.fd).List()
	for _, s := range f.vals {
		if f.fd.Message() != nil && strings.HasPrefix(strings.TrimSpace(s), "[") {
			var items []json.RawMessage
			if err := json.Unmarshal([]byte(s), &items); err != nil {
				return usagef("%s: %v", name, err)
			}
			for i, item := range items {
				v := l.NewElement()
				if err := awsjson.Unmarshal(item, v.Message().Interface()); err != nil {
					return usagef("%s: [%d]: %v", name, i, err)
				}
				l.Append(v)
			}
			continue
		}
		v, err := listElement(l, f.fd, s)
		if err != nil {
			return usagef("%s: %v", name, err)
		}
		l.Append(v)
	}
	return nil
}

// jsonListValue makes the JSON list of structures given as a list member's
// values (a JSON array, JSON objects or shorthands; "[]" for none) into m,
// a ListValue. The server checks the structures.
func jsonListValue(vals []string, m proto.Message) error {
	var items []json.RawMessage
	for _, s := range vals {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "["):
			var more []json.RawMessage
			if err := json.Unmarshal([]byte(s), &more); err != nil {
				return err
			}
			items = append(items, more...)
		case strings.HasPrefix(s, "{"):
			items = append(items, json.RawMessage(s))
		default:
			obj := map[string]any{}
			for _, kv := range strings.Split(s, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("%q: want key=value (or JSON)", kv)
				}
				obj[strings.TrimSpace(k)] = shorthandValue(v)
			}
			b, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			items = append(items, b)
		}
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return awsjson.Unmarshal(b, m)
}

// shorthandValue is a shorthand value as JSON: a number, true or false, or
// text.
func shorthandValue(v string) any {
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return json.Number(v)
	}
	return v
}

// fieldValue converts s to a value of the singular member fd of m.
func fieldValue(m protoreflect.Message, fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	if fd.Message() != nil {
		v := m.NewField(fd)
		return v, decodeStructure(s, v.Message().Interface())
	}
	return scalar(fd.Kind(), s)
}

func listElement(l protoreflect.List, fd protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	if fd.Message() != nil {
		v := l.NewElement()
		return v, decodeStructure(s, v.Message().Interface())
	}
	return scalar(fd.Kind(), s)
}

func scalar(k protoreflect.Kind, s string) (protoreflect.Value, error) {
	switch k {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b), err
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("%q is not an integer", s)
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("%q is not an integer", s)
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("%q is not a number", s)
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.BytesKind: // a blob: fileb://PATH reads a file, as the aws CLI does; else the text's bytes
		if path, ok := strings.CutPrefix(s, "fileb://"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return protoreflect.Value{}, err
			}
			return protoreflect.ValueOfBytes(b), nil
		}
		return protoreflect.ValueOfBytes([]byte(s)), nil
	}
	return protoreflect.Value{}, fmt.Errorf("members of kind %v cannot be given as flags", k)
}

// decodeStructure decodes a structure given as JSON ({...}) or as the aws
// CLI's shorthand, key=value,key=value with ECS's member names as keys. The
// shorthand takes scalar members only; nested structures need JSON.
func decodeStructure(s string, m proto.Message) error {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		return awsjson.Unmarshal([]byte(s), m)
	}
	fields := m.ProtoReflect().Descriptor().Fields()
	obj := map[string]any{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want key=value (or JSON)", kv)
		}
		k = strings.TrimSpace(k)
		fd := fields.ByJSONName(k)
		switch {
		case fd == nil:
			obj[k] = v // ecsjson names it as an unknown field
		case fd.IsList() || fd.IsMap() || fd.Message() != nil:
			return fmt.Errorf("%s: give this structure as JSON", k)
		case fd.Kind() == protoreflect.BoolKind:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not true or false", k, v)
			}
			obj[k] = b
		case fd.Kind() == protoreflect.StringKind:
			obj[k] = v
		default:
			obj[k] = json.Number(v)
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	return awsjson.Unmarshal(b, m)
}

// expandLists rewrites a list flag's further values, as the aws CLI takes
// them (--services a b), into repeated flags (--services a --services b),
// which is what pflag parses.
func expandLists(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	var out []string
	list, more := "", false // the list flag being read; whether it has its first value
	for i, arg := range args {
		switch {
		case arg == "--":
			return append(out, args[i:]...)
		case strings.HasPrefix(arg, "-") && !isNumber(arg):
			list, more = "", false
			if name, ok := strings.CutPrefix(arg, "--"); ok {
				name, _, eq := strings.Cut(name, "=")
				if f := cmd.Flags().Lookup(name); f != nil {
					if l, ok := f.Value.(listFlag); ok && l.isList() {
						list, more = name, eq
					}
				}
			}
			out = append(out, arg)
		case list != "" && more:
			out = append(out, "--"+list, arg)
		default:
			more = list != ""
			out = append(out, arg)
		}
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// kebab turns an ECS member name into the aws CLI's flag name:
// taskDefinition -> task-definition, enableECSManagedTags ->
// enable-ecs-managed-tags.
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && !unicode.IsUpper(r[i-1])
			acronymEnd := i > 0 && unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || acronymEnd {
				b.WriteByte('-')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
