package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi/awsjson"
)

func unmarshalStrict(doc []byte, m proto.Message) error { return awsjson.Unmarshal(doc, m) }

// marshalJSON is the JSON document of m, the response to req, with the
// service's rule for the members written when empty.
func marshalJSON(m, req proto.Message, rule awsjson.Rule) ([]byte, error) {
	return awsjson.MarshalRule(m, req, rule)
}

// fieldFault is the InvalidArgument error about a member.
func fieldFault(path, format string, args ...any) error { return apierr.Field(path, format, args...) }

// fieldByName is the member of md named name (its JSON name, as AWS names
// it, or its proto name).
func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(name); fd != nil {
		return fd
	}
	return md.Fields().ByName(protoreflect.Name(name))
}

// typedValue is value, text from a path, query or header, as the JSON value
// of member in md.
func typedValue(md protoreflect.MessageDescriptor, member, value string) (any, error) {
	fd := fieldByName(md, member)
	if fd == nil {
		return nil, fmt.Errorf("the operation has no member %s", member)
	}
	v, err := scalarValue(fd, value)
	if err != nil {
		return nil, err
	}
	if fd.IsList() {
		return []any{v}, nil
	}
	return v, nil
}

// scalarValue is text as the JSON value of a scalar field.
func scalarValue(fd protoreflect.FieldDescriptor, text string) (any, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", text)
		}
		return b, nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", text)
		}
		return json.Number(strconv.FormatInt(n, 10)), nil // "007" is 7, as JSON writes it
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return nil, fmt.Errorf("a structure cannot be given as text")
	}
	return text, nil // strings, enums, bytes (base64 already)
}

// queryDocument turns the query protocol's flattened parameters
// (Names.member.1=a, Tags.member.1.Key=k, Attributes.entry.1.key=k) into the
// JSON document of the request message md.
func queryDocument(form url.Values, in proto.Message) ([]byte, error) {
	root := map[string]any{}
	md := in.ProtoReflect().Descriptor()
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Action" || k == "Version" || strings.HasPrefix(k, "X-Amz-") {
			continue
		}
		if err := setQueryValue(root, md, strings.Split(k, "."), "", form.Get(k)); err != nil {
			return nil, err
		}
	}
	return json.Marshal(listify(root))
}

// setQueryValue sets the value at segs (a member name, then for a list
// "member" and an index, for a map "entry", an index and "key" or "value")
// in obj, a message's document.
func setQueryValue(obj map[string]any, md protoreflect.MessageDescriptor, segs []string, path, value string) error {
	name := segs[0]
	p := joinPath(path, name)
	fd := fieldByName(md, name)
	if fd == nil {
		return fieldFault(p, "unknown field")
	}
	key := fd.JSONName()
	rest := segs[1:]
	switch {
	case fd.IsList():
		if len(rest) > 0 && rest[0] == "member" {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			if value == "" {
				obj[key] = indexed{} // an empty list: Names=
				return nil
			}
			return fieldFault(p, "a list is given as %s.member.N", name)
		}
		i, err := strconv.Atoi(rest[0])
		if err != nil || i < 1 {
			return fieldFault(p, "list index %q must be a number from 1", rest[0])
		}
		list, _ := obj[key].(indexed)
		if list == nil {
			list = indexed{}
			obj[key] = list
		}
		ep := fmt.Sprintf("%s[%d]", p, i-1)
		if fd.Kind() == protoreflect.MessageKind {
			elem, _ := list[i].(map[string]any)
			if elem == nil {
				elem = map[string]any{}
				list[i] = elem
			}
			if len(rest) < 2 {
				return fieldFault(ep, "a structure's members are given as %s.member.N.Member", name)
			}
			return setQueryValue(elem, fd.Message(), rest[1:], ep, value)
		}
		v, err := scalarValue(fd, value)
		if err != nil {
			return fieldFault(ep, "%v", err)
		}
		list[i] = v
		return nil
	case fd.IsMap():
		if len(rest) > 0 && rest[0] == "entry" {
			rest = rest[1:]
		}
		if len(rest) != 2 || (rest[1] != "key" && rest[1] != "value") {
			return fieldFault(p, "a map is given as %s.entry.N.key and .value", name)
		}
		m, _ := obj[key].(queryMap)
		if m == nil {
			m = queryMap{}
			obj[key] = m
		}
		e := m[rest[0]]
		if rest[1] == "key" {
			e[0] = value
		} else {
			e[1] = value
		}
		m[rest[0]] = e
		return nil
	case fd.Kind() == protoreflect.MessageKind:
		if len(rest) == 0 {
			return fieldFault(p, "a structure's members are given as %s.Member", name)
		}
		sub, _ := obj[key].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
			obj[key] = sub
		}
		return setQueryValue(sub, fd.Message(), rest, p, value)
	}
	if len(rest) > 0 {
		return fieldFault(p, "is not a structure")
	}
	v, err := scalarValue(fd, value)
	if err != nil {
		return fieldFault(p, "%v", err)
	}
	obj[key] = v
	return nil
}

// indexed is a list being built from 1-based indexes; queryMap a map from
// its entries' index to key and value.
type (
	indexed  map[int]any
	queryMap map[string][2]string
)

// listify turns the indexed lists and entry maps built from a form into
// JSON arrays and objects.
func listify(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = listify(e)
		}
		return t
	case indexed:
		idx := make([]int, 0, len(t))
		for i := range t {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			out = append(out, listify(t[i]))
		}
		return out
	case queryMap:
		out := map[string]any{}
		for _, kv := range t {
			out[kv[0]] = kv[1]
		}
		return out
	}
	return v
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// writeQueryResponse writes the query protocol's response document:
// <OpResponse><OpResult>members</OpResult><ResponseMetadata>...</OpResponse>.
func writeQueryResponse(w io.Writer, op, namespace string, out proto.Message, requestID string) error {
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: op + "Response"}}
	if namespace != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}
	}
	enc.EncodeToken(start)
	result := xml.StartElement{Name: xml.Name{Local: op + "Result"}}
	enc.EncodeToken(result)
	if err := encodeMessageXML(enc, out.ProtoReflect()); err != nil {
		return err
	}
	enc.EncodeToken(result.End())
	enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	enc.EncodeToken(start.End())
	return enc.Flush()
}

// encodeMessageXML writes m's set members in declaration order, lists as
// <member> elements and maps as <entry><key/><value/></entry>.
func encodeMessageXML(enc *xml.Encoder, m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		el := xml.StartElement{Name: xml.Name{Local: fd.JSONName()}}
		enc.EncodeToken(el)
		v := m.Get(fd)
		switch {
		case fd.IsList():
			l := v.List()
			for j := 0; j < l.Len(); j++ {
				if err := encodeValueXML(enc, fd, l.Get(j), "member"); err != nil {
					return err
				}
			}
		case fd.IsMap():
			var err error
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				entry := xml.StartElement{Name: xml.Name{Local: "entry"}}
				enc.EncodeToken(entry)
				enc.EncodeElement(k.String(), xml.StartElement{Name: xml.Name{Local: "key"}})
				err = encodeValueXML(enc, fd.MapValue(), mv, "value")
				enc.EncodeToken(entry.End())
				return err == nil
			})
			if err != nil {
				return err
			}
		case fd.Kind() == protoreflect.MessageKind:
			if err := encodeMessageXML(enc, v.Message()); err != nil {
				return err
			}
		default:
			enc.EncodeToken(xml.CharData(scalarText(fd, v)))
		}
		enc.EncodeToken(el.End())
	}
	return nil
}

func encodeValueXML(enc *xml.Encoder, fd protoreflect.FieldDescriptor, v protoreflect.Value, name string) error {
	el := xml.StartElement{Name: xml.Name{Local: name}}
	enc.EncodeToken(el)
	if fd.Kind() == protoreflect.MessageKind {
		if err := encodeMessageXML(enc, v.Message()); err != nil {
			return err
		}
	} else {
		enc.EncodeToken(xml.CharData(scalarText(fd, v)))
	}
	return enc.EncodeToken(el.End())
}

func scalarText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
	}
	return v.String()
}

var cborDecoder, _ = cbor.DecOptions{DefaultMapType: reflect.TypeOf(map[string]any(nil)), MaxNestedLevels: 64}.DecMode()

// cborToJSON turns a CBOR request body into the JSON document of the same
// members: byte strings become base64, epoch timestamps (tag 1) numbers.
func cborToJSON(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	var v any
	if err := cborDecoder.Unmarshal(body, &v); err != nil {
		return nil, faultf(serialization, http.StatusBadRequest, "the body is not CBOR: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, faultf(serialization, http.StatusBadRequest, "the body must be a CBOR map")
	}
	return json.Marshal(fromCBOR(v))
}

func fromCBOR(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = fromCBOR(e)
		}
	case []any:
		for i, e := range t {
			t[i] = fromCBOR(e)
		}
	case cbor.Tag:
		return fromCBOR(t.Content) // tag 1: epoch seconds, a number as the JSON protocols send it
	case map[any]any:
		return fmt.Sprintf("%v", t) // a map with keys that are not text: awsjson rejects it by its type
	}
	return v
}

// jsonToCBOR encodes a JSON response document as CBOR.
func jsonToCBOR(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return cbor.Marshal(toCBOR(v))
}

func toCBOR(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = toCBOR(e)
		}
	case []any:
		for i, e := range t {
			t[i] = toCBOR(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}
