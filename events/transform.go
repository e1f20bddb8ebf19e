package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Event is an event on the bus in EventBridge's envelope, as targets
// receive it (and as patterns see it).
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// JSON is the event's document.
func (e Event) JSON() []byte {
	if e.Resources == nil {
		e.Resources = []string{}
	}
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage("{}")
	}
	b, _ := json.Marshal(e)
	return b
}

// Transform is how a target shapes its input: at most one of Input (a JSON
// text sent as is), InputPath (a JSONPath into the event) and a transformer
// (InputPathsMap and InputTemplate). None: the whole event.
type Transform struct {
	Input         string
	InputPath     string
	InputPathsMap map[string]string
	InputTemplate string
	// HasTransformer tells an InputTransformer from none (its template may
	// be anything, even empty).
	HasTransformer bool
}

// Context is what the predefined variables of a template name.
type Context struct {
	RuleARN, RuleName string
	IngestionTime     string
}

// TargetInput is what a target receives for event (its JSON document).
func TargetInput(tr Transform, event []byte, ctx Context) ([]byte, error) {
	switch {
	case tr.Input != "":
		return []byte(tr.Input), nil
	case tr.InputPath != "":
		doc, err := decode(event)
		if err != nil {
			return nil, err
		}
		v, ok := lookupPath(doc, tr.InputPath)
		if !ok {
			return []byte("null"), nil
		}
		return json.Marshal(v)
	case tr.HasTransformer:
		return transform(tr, event, ctx)
	}
	return event, nil
}

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("event is not valid JSON: %w", err)
	}
	return v, nil
}

// pathSegment is [.name], ['name'] or [N].
var pathSegment = regexp.MustCompile(`^(?:\.([A-Za-z0-9_\-$@]+)|\['([^']*)'\]|\[(\d+)\])`)

// CheckPath checks a JSONPath of InputPath or InputPathsMap: $ then .name,
// ['name'] or [N] segments.
func CheckPath(path string) error {
	if !strings.HasPrefix(path, "$") {
		return fmt.Errorf("must start with $")
	}
	rest := path[1:]
	for rest != "" {
		m := pathSegment.FindStringSubmatch(rest)
		if m == nil {
			return fmt.Errorf("cannot read %q: use .name, ['name'] or [index]", rest)
		}
		rest = rest[len(m[0]):]
	}
	return nil
}

func lookupPath(doc any, path string) (any, bool) {
	if CheckPath(path) != nil {
		return nil, false
	}
	rest := path[1:]
	cur := doc
	for rest != "" {
		m := pathSegment.FindStringSubmatch(rest)
		rest = rest[len(m[0]):]
		switch {
		case m[3] != "":
			arr, ok := cur.([]any)
			i, _ := strconv.Atoi(m[3])
			if !ok || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
		default:
			name := m[1]
			if name == "" {
				name = m[2]
			}
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[name]; !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

// placeholder is <name> in a template.
var placeholder = regexp.MustCompile(`<([A-Za-z0-9_.\-]+)>`)

// inputVariableName is what InputPathsMap's keys may be.
var inputVariableName = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// CheckTransformer checks an InputTransformer as EventBridge does: at most
// 100 paths, names of letters, digits, _ and -, not aws.*, valid paths.
func CheckTransformer(paths map[string]string, template string) (field string, err error) {
	if len(paths) > 100 {
		return "InputPathsMap", fmt.Errorf("at most 100 entries")
	}
	names := make([]string, 0, len(paths))
	for k := range paths {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if strings.HasPrefix(k, "aws.") || !inputVariableName.MatchString(k) {
			return "InputPathsMap." + k, fmt.Errorf("a key is letters, digits, _ and -, and no key starts with aws")
		}
		if err := CheckPath(paths[k]); err != nil {
			return "InputPathsMap." + k, fmt.Errorf("invalid JSONPath %q: %v", paths[k], err)
		}
	}
	if template == "" {
		return "InputTemplate", fmt.Errorf("must be set")
	}
	if len(template) > 8192 {
		return "InputTemplate", fmt.Errorf("at most 8192 characters")
	}
	return "", nil
}

// transform fills the template: a placeholder inside a JSON string gets
// the value's text (a string without its quotes); elsewhere the value's
// JSON (a missing value: null). Predefined: aws.events.rule-arn,
// aws.events.rule-name, aws.events.event.ingestion-time, aws.events.event
// and aws.events.event.json (the whole event).
func transform(tr Transform, event []byte, ctx Context) ([]byte, error) {
	doc, err := decode(event)
	if err != nil {
		return nil, err
	}
	values := map[string]any{}
	for k, p := range tr.InputPathsMap {
		if v, ok := lookupPath(doc, p); ok {
			values[k] = v
		}
	}
	values["aws.events.rule-arn"] = ctx.RuleARN
	values["aws.events.rule-name"] = ctx.RuleName
	values["aws.events.event.ingestion-time"] = ctx.IngestionTime
	values["aws.events.event"] = doc
	values["aws.events.event.json"] = doc
	tpl := tr.InputTemplate
	var out strings.Builder
	last := 0
	for _, loc := range placeholder.FindAllStringSubmatchIndex(tpl, -1) {
		name := tpl[loc[2]:loc[3]]
		v, known := values[name]
		_, declared := tr.InputPathsMap[name]
		if !known && !declared {
			continue // not a variable: left as it is
		}
		out.WriteString(tpl[last:loc[0]])
		last = loc[1]
		if inString(tpl[:loc[0]]) {
			if s, ok := v.(string); ok {
				b, _ := json.Marshal(s)
				out.Write(b[1 : len(b)-1])
			} else if known {
				b, _ := json.Marshal(v)
				out.WriteString(strings.ReplaceAll(string(b), `"`, `\"`))
			}
			continue
		}
		if !known {
			out.WriteString("null")
			continue
		}
		b, _ := json.Marshal(v)
		out.Write(b)
	}
	out.WriteString(tpl[last:])
	return []byte(out.String()), nil
}

// inString reports whether the text before a placeholder leaves it inside
// a JSON string (an odd number of unescaped quotes).
func inString(before string) bool {
	in := false
	for i := 0; i < len(before); i++ {
		switch before[i] {
		case '\\':
			i++
		case '"':
			in = !in
		}
	}
	return in
}
