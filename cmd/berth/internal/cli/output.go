package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/berth/berth/ecs/ecsjson"
)

// print writes a response to req in the --output format.
func (a *app) print(w io.Writer, m, req proto.Message) error {
	switch a.output {
	case "table":
		return writeTable(w, m.ProtoReflect())
	case "text":
		tw := &textWriter{w: w}
		tw.message(m.ProtoReflect(), "")
		return tw.err
	}
	return writeJSON(w, m, req)
}

// writeJSON writes m, the response to req (nil if none), as the aws CLI
// prints ECS's responses: ECS's member names, members not set left out but
// for those ECS writes when empty or zero (ecsjson's rule), indented by 4.
func writeJSON(w io.Writer, m, req proto.Message) error {
	b, err := ecsjson.Marshal(m, req)
	if err != nil {
		return err
	}
	// Indenting protojson's compact form also makes its whitespace stable.
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "    "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// textWriter writes the aws CLI's text output: a line per structure, its
// member name in capitals then its scalar members tab-separated, and a line
// per element of a list of scalars.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) line(fields ...string) {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.w, strings.Join(fields, "\t"))
	}
}

func (t *textWriter) message(m protoreflect.Message, name string) {
	fields := m.Descriptor().Fields()
	var scalars []string
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); m.Has(fd) && fd.Message() == nil && !fd.IsList() {
			scalars = append(scalars, scalarText(m.Get(fd)))
		}
	}
	if name != "" && len(scalars) > 0 {
		t.line(append([]string{strings.ToUpper(name)}, scalars...)...)
	} else if len(scalars) > 0 {
		t.line(scalars...)
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) || fd.IsMap() {
			continue
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				t.message(l.Get(j).Message(), fd.JSONName())
			}
		case fd.IsList():
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				t.line(strings.ToUpper(fd.JSONName()), scalarText(l.Get(j)))
			}
		case fd.Message() != nil:
			t.message(m.Get(fd).Message(), fd.JSONName())
		}
	}
}

func scalarText(v protoreflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v.Interface())
}

// writeTable writes a response as tables: one per member that is a list of
// (or one) ECS object with columns in tableSpecs, or a list of strings, such
// as ARNs; then nextToken if there is one.
func writeTable(w io.Writer, m protoreflect.Message) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fields := m.Descriptor().Fields()
	first := true
	section := func(headers []string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		if !first {
			fmt.Fprintln(tw)
		}
		first = false
		fmt.Fprintln(tw, strings.Join(headers, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) || fd.IsMap() {
			continue
		}
		var values []protoreflect.Value
		if fd.IsList() {
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				values = append(values, l.Get(j))
			}
		} else {
			values = append(values, m.Get(fd))
		}
		if fd.Message() == nil && fd.JSONName() != "nextToken" {
			var rows [][]string
			for _, v := range values {
				rows = append(rows, []string{scalarText(v)})
			}
			section([]string{header(fd.JSONName())}, rows)
			continue
		}
		if fd.Message() == nil {
			continue
		}
		spec, ok := tableSpecs[fd.Message().FullName()]
		if !ok {
			continue
		}
		var rows [][]string
		for _, v := range values {
			rows = append(rows, spec.row(v.Message().Interface()))
		}
		section(spec.headers, rows)
	}
	if fd := fields.ByJSONName("nextToken"); fd != nil && m.Has(fd) {
		fmt.Fprintf(tw, "\nnextToken: %s\n", m.Get(fd).String())
	}
	return tw.Flush()
}

// header is a column header for an ECS member: taskArns -> TASK ARNS.
func header(member string) string {
	return strings.ToUpper(strings.ReplaceAll(kebab(member), "-", " "))
}
