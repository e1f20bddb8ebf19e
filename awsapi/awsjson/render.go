package awsjson

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
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

// MarshalRule encodes m as Marshal does and also writes the members rule
// names when they are not set, each as its empty value: [] for a list, {}
// for a map, a message with its own rule applied inside, 0, false or "" for
// a scalar. req is the request m answers, for members with an Include
// condition; it may be nil. Without a rule it is Marshal.
func MarshalRule(m proto.Message, req proto.Message, rule Rule) ([]byte, error) {
	if len(rule) == 0 {
		return Marshal(m)
	}
	e := encoder{rule: rule, included: included(req)}
	if err := e.message(m.ProtoReflect()); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
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

// encoder writes a message as protojson does (JSON names, fields in
// declaration order, 64-bit integers as strings, map keys sorted), with
// the rule's members written when not set.
type encoder struct {
	rule     Rule
	included map[string]bool
	buf      bytes.Buffer
}

// always is the set of md's members the rule writes for this request.
func (e *encoder) always(md protoreflect.MessageDescriptor) map[protoreflect.Name]bool {
	members := e.rule[md.FullName()]
	if len(members) == 0 {
		return nil
	}
	set := make(map[protoreflect.Name]bool, len(members))
	for _, m := range members {
		if m.Include != "" && !e.included[m.Include] {
			continue
		}
		if fd := md.Fields().ByJSONName(m.Name); fd != nil {
			set[fd.Name()] = true
		}
	}
	return set
}

func (e *encoder) message(m protoreflect.Message) error {
	md := m.Descriptor()
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		// Well-known types have their own JSON forms: protojson's.
		b, err := protojson.Marshal(m.Interface())
		e.buf.Write(b)
		return err
	}
	always := e.always(md)
	e.buf.WriteByte('{')
	first := true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) && !always[fd.Name()] {
			continue
		}
		if !first {
			e.buf.WriteByte(',')
		}
		first = false
		e.string(fd.JSONName())
		e.buf.WriteByte(':')
		if err := e.field(m, fd); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// field writes the value of fd in m, set or not (an unset one is empty).
func (e *encoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	switch {
	case fd.IsList():
		list := m.Get(fd).List()
		e.buf.WriteByte('[')
		for i := range list.Len() {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(list.Get(i), fd); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
		return nil
	case fd.IsMap():
		return e.mapValue(m.Get(fd).Map(), fd)
	case fd.Message() != nil && !m.Has(fd):
		return e.message(m.NewField(fd).Message()) // an empty message, its own rule inside
	}
	return e.value(m.Get(fd), fd)
}

func (e *encoder) mapValue(mp protoreflect.Map, fd protoreflect.FieldDescriptor) error {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	e.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		if !utf8.ValidString(k.String()) {
			return fmt.Errorf("awsjson: a key of field %s holds invalid UTF-8", fd.FullName())
		}
		e.string(k.String()) // every key a string, as protojson writes them
		e.buf.WriteByte(':')
		if err := e.value(mp.Get(k), fd.MapValue()); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// lessKey orders map keys as protojson does: false before true, integers
// by value, strings by their bytes.
func lessKey(a, b protoreflect.MapKey) bool {
	switch x := a.Interface().(type) {
	case bool:
		return !x && b.Bool()
	case int32, int64:
		return a.Int() < b.Int()
	case uint32, uint64:
		return a.Uint() < b.Uint()
	}
	return a.String() < b.String()
}

// value writes one value of fd's kind: a singular field's, a list
// element or a map value.
func (e *encoder) value(v protoreflect.Value, fd protoreflect.FieldDescriptor) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return e.message(v.Message())
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			return fmt.Errorf("awsjson: field %s holds invalid UTF-8", fd.FullName())
		}
		e.string(v.String())
	case protoreflect.BytesKind:
		e.string(base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.BoolKind:
		e.buf.WriteString(strconv.FormatBool(v.Bool()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			e.string(string(ev.Name()))
		} else {
			e.buf.WriteString(strconv.Itoa(int(v.Enum())))
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		e.buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		e.buf.WriteString(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.string(strconv.FormatInt(v.Int(), 10)) // as protojson: a string
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.string(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind:
		e.float(v.Float(), 32)
	case protoreflect.DoubleKind:
		e.float(v.Float(), 64)
	default:
		return fmt.Errorf("awsjson: field %s has kind %v", fd.FullName(), fd.Kind())
	}
	return nil
}

// float writes a number as protojson (and encoding/json) do; NaN and the
// infinities as protojson's strings.
func (e *encoder) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		e.buf.WriteString(`"NaN"`)
		return
	case math.IsInf(f, 1):
		e.buf.WriteString(`"Infinity"`)
		return
	case math.IsInf(f, -1):
		e.buf.WriteString(`"-Infinity"`)
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	var tmp [32]byte
	b := strconv.AppendFloat(tmp[:0], f, format, -1, bits)
	if format == 'e' { // e-07 as e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	e.buf.Write(b)
}

// string writes s, valid UTF-8, as a JSON string, escaping as protojson
// does: the quote, the backslash and control characters; <, > and & as
// they are.
func (e *encoder) string(s string) {
	const hex = "0123456789abcdef"
	e.buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		e.buf.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			e.buf.WriteByte('\\')
			e.buf.WriteByte(c)
		case '\b':
			e.buf.WriteString(`\b`)
		case '\f':
			e.buf.WriteString(`\f`)
		case '\n':
			e.buf.WriteString(`\n`)
		case '\r':
			e.buf.WriteString(`\r`)
		case '\t':
			e.buf.WriteString(`\t`)
		default:
			e.buf.WriteString(`\u00`)
			e.buf.WriteByte(hex[c>>4])
			e.buf.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	e.buf.WriteString(s[start:])
	e.buf.WriteByte('"')
}
