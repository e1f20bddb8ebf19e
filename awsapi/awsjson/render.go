package awsjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Rule says which members a service writes even when they are empty, zero or
// not set: AWS services send some lists as [] and some counts as 0 where
// protobuf has nothing to tell an empty list from a missing one (ECS's
// ListServices answers {"serviceArns": []}, a cluster has
// "runningTasksCount": 0). It maps a message's full name to those members.
// A message or member not named is written as Marshal writes it.
type Rule map[protoreflect.FullName][]Member

// Member is one member a Rule writes when empty.
type Member struct {
	// Name is the member's JSON name (the AWS member name).
	Name string
	// Include, if set, makes the member conditional: it is written when
	// empty only if the request's "include" member lists this value
	// (ECS's DescribeServices writes a service's "tags": [] with include
	// TAGS, and no tags member without).
	Include string
}

// MarshalRule encodes m as Marshal does, then writes the members rule names
// that m leaves out, each as its empty value: [] for a list, {} for a map or
// a message (with the message's own rule applied inside), 0, false or "" for
// a scalar. req is the request m answers, for members with an Include
// condition; it may be nil. Members come out in the message's field order.
func MarshalRule(m proto.Message, req proto.Message, rule Rule) ([]byte, error) {
	b, err := Marshal(m)
	if err != nil || len(rule) == 0 {
		return b, err
	}
	doc, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("awsjson: re-reading protojson's output: %v", err)
	}
	r := renderer{rule: rule, included: included(req)}
	doc = r.message(doc.(object), m.ProtoReflect().Descriptor())
	var out bytes.Buffer
	if err := write(&out, doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// included is the set of values of req's "include" member.
func included(req proto.Message) map[string]bool {
	if req == nil {
		return nil
	}
	msg := req.ProtoReflect()
	fd := msg.Descriptor().Fields().ByJSONName("include")
	if fd == nil || !fd.IsList() || fd.Kind() != protoreflect.StringKind {
		return nil
	}
	list := msg.Get(fd).List()
	set := make(map[string]bool, list.Len())
	for i := range list.Len() {
		set[list.Get(i).String()] = true
	}
	return set
}

type renderer struct {
	rule     Rule
	included map[string]bool
}

// message adds the rule's missing members to obj, a document of md, and
// goes down into the members that hold messages.
func (r renderer) message(obj object, md protoreflect.MessageDescriptor) object {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return obj // well-known types have their own JSON forms
	}
	fields := md.Fields()
	added := false
	for _, m := range r.rule[md.FullName()] {
		if m.Include != "" && !r.included[m.Include] {
			continue
		}
		if slices.ContainsFunc(obj.members, func(e member) bool { return e.key == m.Name }) {
			continue
		}
		fd := fields.ByJSONName(m.Name)
		if fd == nil {
			continue // Check reports it
		}
		obj.members = append(obj.members, member{key: m.Name, value: r.empty(fd)})
		added = true
	}
	for i, e := range obj.members {
		fd := fields.ByJSONName(e.key)
		if fd == nil || (fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind) {
			continue
		}
		obj.members[i].value = r.value(e.value, fd)
	}
	if added {
		slices.SortStableFunc(obj.members, func(a, b member) int {
			return fieldIndex(fields, a.key) - fieldIndex(fields, b.key)
		})
	}
	return obj
}

// value goes into the value of a message-typed member: a message, a list of
// them or a map to them.
func (r renderer) value(v any, fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		obj, ok := v.(object)
		if !ok || fd.MapValue().Kind() != protoreflect.MessageKind {
			return v
		}
		for i, e := range obj.members {
			if sub, ok := e.value.(object); ok {
				obj.members[i].value = r.message(sub, fd.MapValue().Message())
			}
		}
		return obj
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return v
		}
		for i, e := range list {
			if sub, ok := e.(object); ok {
				list[i] = r.message(sub, fd.Message())
			}
		}
		return list
	}
	if obj, ok := v.(object); ok {
		return r.message(obj, fd.Message())
	}
	return v
}

// empty is the empty value of a field as a document.
func (r renderer) empty(fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsList():
		return []any{}
	case fd.IsMap():
		return object{}
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") {
			return nil
		}
		return r.message(object{}, fd.Message())
	case protoreflect.BoolKind:
		return false
	case protoreflect.StringKind, protoreflect.BytesKind:
		return ""
	case protoreflect.EnumKind:
		return string(fd.Enum().Values().Get(0).Name())
	}
	return json.Number("0")
}

// fieldIndex is the position of the member named key in the message, for
// sorting; a key that is no field (none is) sorts last.
func fieldIndex(fields protoreflect.FieldDescriptors, key string) int {
	if fd := fields.ByJSONName(key); fd != nil {
		return fd.Index()
	}
	return fields.Len()
}

// write encodes a document tree compactly.
func write(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, m := range v.members {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeScalar(buf, m.key); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := write(buf, m.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := write(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case json.Number:
		buf.WriteString(string(v))
	default: // string, bool, nil
		return writeScalar(buf, v)
	}
	return nil
}

// writeScalar writes a string, bool or null as protojson does: <, > and &
// as they are, not escaped for HTML.
func writeScalar(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
