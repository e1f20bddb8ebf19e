// Package notify is S3's bucket notifications without I/O: the
// NotificationConfiguration document (parsed, checked as S3 checks it, and
// written back), which configurations an event matches, and the events in
// S3's own shapes (the Records[] document Lambda receives, and
// EventBridge's "Object Created" / "Object Deleted"). The server that
// stores configurations and delivers events is package s3api.
package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// The event types S3 notifies of that berth emits, and the wildcards over
// them. Other documented types (replication, restore, lifecycle, tagging,
// ACL) are accepted in a configuration, as S3 accepts them, and never
// happen in berth.
var eventTypes = map[string]bool{
	"s3:ObjectCreated:*": true, "s3:ObjectCreated:Put": true, "s3:ObjectCreated:Post": true, "s3:ObjectCreated:Copy": true,
	"s3:ObjectCreated:CompleteMultipartUpload": true,
	"s3:ObjectRemoved:*":                       true, "s3:ObjectRemoved:Delete": true, "s3:ObjectRemoved:DeleteMarkerCreated": true,
	"s3:ObjectRestore:*": true, "s3:ObjectRestore:Post": true, "s3:ObjectRestore:Completed": true, "s3:ObjectRestore:Delete": true,
	"s3:ReducedRedundancyLostObject": true,
	"s3:Replication:*":               true, "s3:Replication:OperationFailedReplication": true, "s3:Replication:OperationMissedThreshold": true,
	"s3:Replication:OperationReplicatedAfterThreshold": true, "s3:Replication:OperationNotTracked": true,
	"s3:LifecycleExpiration:*": true, "s3:LifecycleExpiration:Delete": true, "s3:LifecycleExpiration:DeleteMarkerCreated": true,
	"s3:LifecycleTransition": true, "s3:IntelligentTiering": true,
	"s3:ObjectTagging:*": true, "s3:ObjectTagging:Put": true, "s3:ObjectTagging:Delete": true, "s3:ObjectAcl:Put": true,
}

// Error is a configuration S3 refuses: its code, message and, for
// InvalidArgument, the arguments it names.
type Error struct {
	Code, Message string
	Arguments     [][2]string // name, value
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(name, value, format string, args ...any) *Error {
	return &Error{Code: "InvalidArgument", Message: fmt.Sprintf(format, args...), Arguments: [][2]string{{name, value}}}
}

// The XML document of Put/GetBucketNotificationConfiguration.
type xmlFilterRule struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlFilter struct {
	S3Key struct {
		FilterRules []xmlFilterRule `xml:"FilterRule"`
	} `xml:"S3Key"`
}

type xmlLambda struct {
	ID       string     `xml:"Id,omitempty"`
	Function string     `xml:"CloudFunction"`
	Events   []string   `xml:"Event"`
	Filter   *xmlFilter `xml:"Filter,omitempty"`
}

type xmlOther struct {
	ID string `xml:"Id"`
	// Topic and Queue are the destinations of SNS and SQS configurations.
	Topic string `xml:"Topic"`
	Queue string `xml:"Queue"`
}

type xmlConfig struct {
	XMLName     xml.Name    `xml:"NotificationConfiguration"`
	Xmlns       string      `xml:"xmlns,attr,omitempty"`
	Topics      []xmlOther  `xml:"TopicConfiguration"`
	Queues      []xmlOther  `xml:"QueueConfiguration"`
	Lambdas     []xmlLambda `xml:"CloudFunctionConfiguration"`
	EventBridge *struct{}   `xml:"EventBridgeConfiguration"`
}

// Parse reads a PutBucketNotificationConfiguration body and checks it as S3
// does, except for its destinations (see Destinations). An empty
// configuration turns notifications off.
func Parse(bucket string, body []byte) (*berthv1.S3BucketNotification, *Error) {
	var doc xmlConfig
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{Code: "MalformedXML", Message: "The XML you provided was not well-formed or did not validate against our published schema"}
	}
	if tok, err := dec.Token(); err != io.EOF && !(err == nil && isSpace(tok)) {
		return nil, &Error{Code: "MalformedXML", Message: "The XML you provided was not well-formed or did not validate against our published schema"}
	}
	out := &berthv1.S3BucketNotification{Bucket: bucket, EventBridge: doc.EventBridge != nil}
	// SNS and SQS are not served by berth: their destinations cannot be
	// validated, as S3 says of a topic or queue it cannot publish to.
	var args [][2]string
	for _, t := range doc.Topics {
		args = append(args, [2]string{t.Topic, "berth serves no SNS topics"})
	}
	for _, q := range doc.Queues {
		args = append(args, [2]string{q.Queue, "berth serves no SQS queues"})
	}
	if len(args) > 0 {
		return nil, &Error{Code: "InvalidArgument", Message: "Unable to validate the following destination configurations", Arguments: args}
	}
	ids := map[string]bool{}
	for _, l := range doc.Lambdas {
		c := &berthv1.S3LambdaFunctionConfiguration{Id: l.ID, LambdaFunctionArn: strings.TrimSpace(l.Function)}
		if c.Id == "" {
			c.Id = newID()
		}
		if len(c.Id) > 1024 {
			return nil, invalid("Id", c.Id, "The ID is longer than 1024 characters")
		}
		if ids[c.Id] {
			return nil, invalid("Id", c.Id, "Configuration ID must be unique")
		}
		ids[c.Id] = true
		if c.LambdaFunctionArn == "" {
			return nil, invalid("CloudFunction", "", "The ARN is not well formed")
		}
		if len(l.Events) == 0 {
			return nil, invalid("Event", "", "A notification configuration must name at least one event")
		}
		seen := map[string]bool{}
		for _, e := range l.Events {
			e = strings.TrimSpace(e)
			if !eventTypes[e] {
				return nil, invalid("Event", e, "The event is not supported for notifications")
			}
			if !seen[e] {
				c.Events = append(c.Events, e)
				seen[e] = true
			}
		}
		if l.Filter != nil {
			var prefix, suffix bool
			for _, r := range l.Filter.S3Key.FilterRules {
				switch strings.ToLower(r.Name) {
				case "prefix":
					if prefix {
						return nil, invalid("FilterRule", r.Name, "Cannot specify more than one prefix rule in a filter.")
					}
					prefix = true
					c.FilterRules = append(c.FilterRules, &berthv1.S3FilterRule{Name: "Prefix", Value: r.Value})
				case "suffix":
					if suffix {
						return nil, invalid("FilterRule", r.Name, "Cannot specify more than one suffix rule in a filter.")
					}
					suffix = true
					c.FilterRules = append(c.FilterRules, &berthv1.S3FilterRule{Name: "Suffix", Value: r.Value})
				default:
					return nil, invalid("FilterRule", r.Name, "filter rule name must be either prefix or suffix")
				}
				if len(r.Value) > 1024 {
					return nil, invalid("FilterRule", r.Name, "The filter rule value is longer than 1024 characters")
				}
			}
		}
		out.LambdaFunctionConfigurations = append(out.LambdaFunctionConfigurations, c)
	}
	if err := checkOverlap(out.LambdaFunctionConfigurations); err != nil {
		return nil, err
	}
	return out, nil
}

func isSpace(tok xml.Token) bool {
	cd, ok := tok.(xml.CharData)
	return ok && len(bytes.TrimSpace(cd)) == 0
}

func newID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

func rule(c *berthv1.S3LambdaFunctionConfiguration, name string) string {
	for _, r := range c.GetFilterRules() {
		if r.GetName() == name {
			return r.GetValue()
		}
	}
	return ""
}

// eventsOverlap says whether two event types can name the same event
// (s3:ObjectCreated:* and s3:ObjectCreated:Put do).
func eventsOverlap(a, b string) bool {
	if a == b {
		return true
	}
	wild := func(w, e string) bool {
		base, ok := strings.CutSuffix(w, "*")
		return ok && strings.HasPrefix(e, base)
	}
	return wild(a, b) || wild(b, a)
}

// checkOverlap refuses two configurations that could both match one event,
// as S3 does: a shared event type and prefixes and suffixes that overlap.
func checkOverlap(cs []*berthv1.S3LambdaFunctionConfiguration) *Error {
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			a, b := cs[i], cs[j]
			shared := false
			for _, ea := range a.GetEvents() {
				for _, eb := range b.GetEvents() {
					shared = shared || eventsOverlap(ea, eb)
				}
			}
			if !shared {
				continue
			}
			pa, pb, sa, sb := rule(a, "Prefix"), rule(b, "Prefix"), rule(a, "Suffix"), rule(b, "Suffix")
			prefixes := strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa)
			suffixes := strings.HasSuffix(sa, sb) || strings.HasSuffix(sb, sa)
			if prefixes && suffixes {
				return &Error{Code: "InvalidArgument", Arguments: [][2]string{{"Event", strings.Join(a.GetEvents(), ",")}},
					Message: "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type."}
			}
		}
	}
	return nil
}

// Render writes a configuration as GetBucketNotificationConfiguration
// returns it.
func Render(c *berthv1.S3BucketNotification) []byte {
	doc := xmlConfig{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
	for _, l := range c.GetLambdaFunctionConfigurations() {
		x := xmlLambda{ID: l.GetId(), Function: l.GetLambdaFunctionArn(), Events: l.GetEvents()}
		if len(l.GetFilterRules()) > 0 {
			x.Filter = &xmlFilter{}
			for _, r := range l.GetFilterRules() {
				x.Filter.S3Key.FilterRules = append(x.Filter.S3Key.FilterRules, xmlFilterRule{Name: r.GetName(), Value: r.GetValue()})
			}
		}
		doc.Lambdas = append(doc.Lambdas, x)
	}
	if c.GetEventBridge() {
		doc.EventBridge = &struct{}{}
	}
	b, _ := xml.Marshal(doc) // strings only: never fails
	return append([]byte(xml.Header), b...)
}

// Functions are the distinct functions a configuration names, in order.
func Functions(c *berthv1.S3BucketNotification) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range c.GetLambdaFunctionConfigurations() {
		if !seen[l.GetLambdaFunctionArn()] {
			seen[l.GetLambdaFunctionArn()] = true
			out = append(out, l.GetLambdaFunctionArn())
		}
	}
	sort.Strings(out)
	return out
}

// Unvalidated is S3's refusal of the destinations it could not validate,
// each with why.
func Unvalidated(failed map[string]string) *Error {
	e := &Error{Code: "InvalidArgument", Message: "Unable to validate the following destination configurations"}
	names := make([]string, 0, len(failed))
	for n := range failed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e.Arguments = append(e.Arguments, [2]string{n, failed[n]})
	}
	return e
}

// Matches are the configurations an event of eventName ("ObjectCreated:Put")
// on key matches.
func Matches(c *berthv1.S3BucketNotification, eventName, key string) []*berthv1.S3LambdaFunctionConfiguration {
	var out []*berthv1.S3LambdaFunctionConfiguration
	for _, l := range c.GetLambdaFunctionConfigurations() {
		hit := false
		for _, e := range l.GetEvents() {
			hit = hit || eventsOverlap(e, "s3:"+eventName)
		}
		if hit && strings.HasPrefix(key, rule(l, "Prefix")) && strings.HasSuffix(key, rule(l, "Suffix")) {
			out = append(out, l)
		}
	}
	return out
}

// EventKey is a key as S3's event records carry it: URL-encoded as a form
// value (a space is "+"), slashes kept.
func EventKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}
