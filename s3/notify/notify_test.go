package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func lambdaConf(id, events, prefix, suffix string) string {
	var b strings.Builder
	b.WriteString("<CloudFunctionConfiguration>")
	if id != "" {
		b.WriteString("<Id>" + id + "</Id>")
	}
	b.WriteString("<CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:f</CloudFunction>")
	for _, e := range strings.Split(events, ",") {
		if e != "" {
			b.WriteString("<Event>" + e + "</Event>")
		}
	}
	if prefix != "" || suffix != "" {
		b.WriteString("<Filter><S3Key>")
		if prefix != "" {
			b.WriteString("<FilterRule><Name>prefix</Name><Value>" + prefix + "</Value></FilterRule>")
		}
		if suffix != "" {
			b.WriteString("<FilterRule><Name>suffix</Name><Value>" + suffix + "</Value></FilterRule>")
		}
		b.WriteString("</S3Key></Filter>")
	}
	b.WriteString("</CloudFunctionConfiguration>")
	return b.String()
}

func doc(parts ...string) []byte {
	return []byte(`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(parts, "") + `</NotificationConfiguration>`)
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name string
		body []byte
		want string // "" or the error's code and a part of its message
	}{
		{"empty turns off", doc(), ""},
		{"eventbridge", doc("<EventBridgeConfiguration></EventBridgeConfiguration>"), ""},
		{"one function", doc(lambdaConf("a", "s3:ObjectCreated:*", "in/", ".png")), ""},
		{"disjoint prefixes", doc(lambdaConf("a", "s3:ObjectCreated:*", "a/", ""), lambdaConf("b", "s3:ObjectCreated:*", "b/", "")), ""},
		{"disjoint events", doc(lambdaConf("a", "s3:ObjectCreated:*", "", ""), lambdaConf("b", "s3:ObjectRemoved:*", "", "")), ""},
		{"overlap", doc(lambdaConf("a", "s3:ObjectCreated:*", "in/", ""), lambdaConf("b", "s3:ObjectCreated:Put", "in/x", "")), "InvalidArgument overlapping"},
		{"duplicate id", doc(lambdaConf("a", "s3:ObjectCreated:*", "a/", ""), lambdaConf("a", "s3:ObjectRemoved:*", "", "")), "InvalidArgument unique"},
		{"unknown event", doc(lambdaConf("a", "s3:ObjectMade:*", "", "")), "InvalidArgument not supported"},
		{"no event", doc(lambdaConf("a", "", "", "")), "InvalidArgument at least one event"},
		{"two prefixes", doc(strings.Replace(lambdaConf("a", "s3:ObjectCreated:*", "x", ""), "<Filter><S3Key>",
			"<Filter><S3Key><FilterRule><Name>Prefix</Name><Value>y</Value></FilterRule>", 1)), "InvalidArgument more than one prefix"},
		{"bad rule name", doc(strings.Replace(lambdaConf("a", "s3:ObjectCreated:*", "x", ""), "<Name>prefix</Name>", "<Name>infix</Name>", 1)),
			"InvalidArgument prefix or suffix"},
		{"a queue", doc("<QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>"),
			"InvalidArgument Unable to validate"},
		{"not XML", []byte("<Notification"), "MalformedXML"},
		{"two documents", append(doc(), doc()...), "MalformedXML"},
	} {
		_, err := Parse("b", tt.body)
		got := ""
		if err != nil {
			got = err.Code + " " + err.Message
		}
		want := strings.SplitN(tt.want, " ", 2)
		if (tt.want == "") != (err == nil) || (err != nil && (err.Code != want[0] || (len(want) > 1 && !strings.Contains(err.Message, want[1])))) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMatchesAndRender(t *testing.T) {
	c, err := Parse("b", doc(lambdaConf("img", "s3:ObjectCreated:Put,s3:ObjectCreated:CompleteMultipartUpload", "in/", ".png"),
		lambdaConf("gone", "s3:ObjectRemoved:*", "", ""), "<EventBridgeConfiguration/>"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ event, key, want string }{
		{"ObjectCreated:Put", "in/a.png", "img"},
		{"ObjectCreated:CompleteMultipartUpload", "in/big.png", "img"},
		{"ObjectCreated:Copy", "in/a.png", ""},
		{"ObjectCreated:Put", "in/a.jpg", ""},
		{"ObjectCreated:Put", "out/a.png", ""},
		{"ObjectRemoved:Delete", "anything", "gone"},
	} {
		var ids []string
		for _, m := range Matches(c, tt.event, tt.key) {
			ids = append(ids, m.GetId())
		}
		if strings.Join(ids, ",") != tt.want {
			t.Errorf("%s %s: %v, want %s", tt.event, tt.key, ids, tt.want)
		}
	}
	again, err := Parse("b", Render(c))
	if err != nil || len(again.GetLambdaFunctionConfigurations()) != 2 || !again.GetEventBridge() ||
		again.GetLambdaFunctionConfigurations()[0].GetFilterRules()[1].GetValue() != ".png" {
		t.Fatalf("render and parse again: %v %v", err, again)
	}
}

// The event decodes with aws-lambda-go's events.S3Event, key encoded as S3
// encodes it.
func TestLambdaEvent(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	b := LambdaEvent(Change{EventName: "ObjectCreated:Put", Bucket: "photos", Key: "in/a b+c.png", Size: 42, ETag: "abc",
		Sequencer: Sequencer(7), Time: at, Region: "us-east-1", SourceIP: "127.0.0.1"}, "img")
	var ev events.S3Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if r.S3.Object.Key != "in/a+b%2Bc.png" || r.S3.Object.URLDecodedKey != "in/a b+c.png" || r.S3.Object.Size != 42 ||
		!r.EventTime.Equal(at) || r.S3.Object.Sequencer != "000000000000000007" || r.AWSRegion != "us-east-1" {
		t.Fatalf("%s -> %+v", b, r)
	}
	del := LambdaEvent(Change{EventName: "ObjectRemoved:Delete", Bucket: "photos", Key: "k", Time: at}, "gone")
	if strings.Contains(string(del), `"size"`) || strings.Contains(string(del), `"eTag"`) {
		t.Fatalf("a delete carries a size or ETag: %s", del)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(doc(lambdaConf("a", "s3:ObjectCreated:*", "in/", ".png")))
	f.Add(doc("<EventBridgeConfiguration/>"))
	f.Add([]byte("<x>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := Parse("b", body)
		if err != nil {
			return
		}
		if _, err := Parse("b", Render(c)); err != nil {
			t.Fatalf("a configuration that parsed renders into one that does not: %v", err)
		}
	})
}
